"""The reward-hacking monitor on a deliberately exploitable learned reward."""

from __future__ import annotations

import numpy as np

from workbench.envs import make_env
from workbench.rl.monitor import RewardHackingMonitor
from workbench.rl.policy import GaussianPolicy
from workbench.rl.ppo import PPOConfig, TrainProgress, evaluate_policy, make_vector_env, train_ppo
from workbench.rl.reward_wrapper import LearnedRewardWrapper


class PushTheCubeForward:
    """Pays for moving the cube away from the robot (+x). Right at first, since the pad lies
    ahead of the cube; but pushing past the pad pays more, so an optimiser learns to overshoot."""

    def __init__(self, env):
        names = list(env.features)
        self.column = sum(list(env.features.values())[: names.index("cube_pos")])

    def score(self, states):
        return np.clip((states[:, self.column] - 0.40) * 10, -1.0, None)


def test_alarm_before_success_collapses_and_roll_back_restores_the_best_policy():
    env = make_env("Push")
    monitor = RewardHackingMonitor(stop_on_alarm=False)  # run on, to see the collapse
    envs = LearnedRewardWrapper(make_vector_env("workbench/Push-v0", 8), PushTheCubeForward(env))
    policy = train_ppo(envs, PPOConfig(total_steps=100_000, seed=0), callbacks=(monitor,))
    envs.close()
    assert monitor.alarm is not None, monitor.history
    history = monitor.history
    # Collapse: from some step on, true success stays at zero for the rest of the run.
    collapse = next(h["step"] for i, h in enumerate(history)
                    if all(g["success"] == 0.0 for g in history[i:]))
    assert monitor.best_step < monitor.alarm.step < collapse
    proxies = [h["proxy"] for h in history]
    assert proxies[-1] > monitor.best_proxy  # the proxy kept rising all the while

    final = evaluate_policy(policy, env, 20)["success_rate"]
    assert monitor.roll_back(policy)
    best = evaluate_policy(policy, env, 20)["success_rate"]
    assert best > final


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
