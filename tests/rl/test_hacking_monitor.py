"""The reward-hacking monitor on a deliberately exploitable learned reward."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from tests.margins import at_least, seed
from workbench.envs import make_env
from workbench.rl.monitor import RewardHackingMonitor
from workbench.rl.policy import GaussianPolicy
from workbench.rl.ppo import PPOConfig, TrainProgress, make_vector_env, train_ppo
from workbench.rl.reward_wrapper import LearnedRewardWrapper


class PushTheCubeForward:
    """Pays for moving the cube away from the robot (+x). Right at first, since the pad lies
    ahead of the cube; but pushing past the pad pays more, so an optimiser learns to overshoot."""

    def __init__(self, env):
        names = list(env.features)
        self.column = sum(list(env.features.values())[: names.index("cube_pos")])

    def score(self, states):
        return np.clip((states[:, self.column] - 0.40) * 10, -1.0, None)


@pytest.mark.rl_outcome
def test_alarm_after_the_best_policy_while_the_proxy_rises_and_roll_back_restores_it():
    """Training on the exploitable reward: success peaks, then falls as the policy learns to
    overshoot while the proxy keeps rising. Where the peak lies and how far success falls
    vary with the seed and the processor; what the monitor does with them does not."""
    env = make_env("Push")
    monitor = RewardHackingMonitor(stop_on_alarm=False)  # run on, to see the collapse
    snapshots: dict[int, dict] = {}

    def keep(progress: TrainProgress) -> None:
        snapshots[progress.step] = copy.deepcopy(progress.policy.state_dict())

    envs = LearnedRewardWrapper(make_vector_env("workbench/Push-v0", 8), PushTheCubeForward(env))
    policy = train_ppo(envs, PPOConfig(total_steps=100_000, seed=seed(0)),
                       callbacks=(monitor, keep))
    envs.close()
    history = monitor.history
    assert [h["step"] for h in history] == sorted(snapshots)  # one entry per update

    # The outcome, with margins proven over seeds, processors and thread counts
    # (benchmarks/rl_test_margins.py): hacking happens and the alarm catches it.
    gain = (history[-1]["proxy"] - monitor.best_proxy) / max(abs(monitor.best_proxy), 1e-6)
    at_least(("hacking: alarm raised", float(monitor.alarm is not None), 1.0),
             ("hacking: best minus final smoothed success",
              monitor.best_success - history[-1]["smoothed_success"], 0.1),
             ("hacking: proxy gain after the best update (relative)", gain, 0.1))
    assert monitor.best_step < monitor.alarm.step

    # Deterministic: roll back loads exactly the parameters of the best update.
    assert monitor.roll_back(policy)
    for name, tensor in policy.state_dict().items():
        assert torch.equal(tensor, snapshots[monitor.best_step][name]), name


def test_monitor_stops_training_on_the_alarm_and_stays_quiet_when_truth_follows():
    policy = GaussianPolicy(3, 2)

    def progress(update, proxy, success):
        return TrainProgress(update * 100, 10_000, update, 1.0, update, proxy, success, 0.0, {},
                             policy)

    monitor = RewardHackingMonitor(warmup_updates=0, smoothing=0.0)
    for u, (proxy, success) in enumerate([(1, 0.1), (2, 0.3), (3, 0.5), (4, 0.6)], 1):
        assert monitor(progress(u, proxy, success)) is True  # proxy and truth rise together
    assert monitor(progress(5, 5, 0.2)) is True  # one bad update is not an alarm (patience)
    assert monitor(progress(6, 6, 0.1)) is False  # two: stop
    assert monitor.alarm is not None and monitor.alarm.best_success == 0.6
    assert "reward hacking suspected" in str(monitor.alarm)
    quiet = RewardHackingMonitor(warmup_updates=0, smoothing=0.0)
    for u, (proxy, success) in enumerate([(1, 0.5), (2, 0.6), (1, 0.1), (0.5, 0.0)], 1):
        assert quiet(progress(u, proxy, success)) is True  # truth fell with the proxy: not hacking
    assert quiet.alarm is None
