"""The reward-hacking monitor on a deliberately exploitable learned reward."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from tests.margins import seed
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


def test_on_real_pushes_past_the_pad_the_alarm_follows_the_best_update_and_roll_back_restores_it():
    """What PPO does on this reward, replayed without learning (so it holds on any machine):
    from some update on, the scripted push aims past the pad. The cube travels further (the
    proxy rises 17%) while it ends on the pad in 7 of 16 layouts instead of 16 (true success
    falls)."""
    from scenes.push import ScriptedPush

    env = make_env("Push")
    reward = PushTheCubeForward(env)
    # Aiming past the pad, about half the pushes still end on it within the episode's 80
    # steps: a fall of 30% from the best counts here (the default, 50%, would sit on the edge).
    monitor = RewardHackingMonitor(drop=0.3)
    overshoots = [0.0] * 7 + [0.08] * 5
    policy = GaussianPolicy(env.state_dim, 2)
    for update, overshoot in enumerate(overshoots, 1):
        # The same layouts and noise every update: only the aim changes between updates.
        rng = np.random.default_rng(0)
        successes, proxies = [], []
        for episode in range(16):
            obs, _ = env.reset(seed=episode)
            push, proxy, done = ScriptedPush(env.task, rng, overshoot=overshoot), 0.0, False
            while not done:
                obs, _, terminated, truncated, info = env.step(push(env.physics))
                proxy += float(reward.score(obs[None])[0])
                done = terminated or truncated
            successes.append(info["success"])
            proxies.append(proxy)
        with torch.no_grad():  # this update's "policy": its parameters say which update it was
            for parameter in policy.parameters():
                parameter.fill_(update)
        keep_going = monitor(TrainProgress(update * 1000, len(overshoots) * 1000, update, 1.0,
                                           16 * update, float(np.mean(proxies)),
                                           float(np.mean(successes)), 0.0, {}, policy))
        if not keep_going:
            break
    env.close()

    assert monitor.alarm is not None, monitor.history
    assert overshoots[monitor.best_step // 1000 - 1] == 0.0  # the best update pushed onto the pad
    assert monitor.best_step < monitor.alarm.step and update == monitor.alarm.step // 1000
    assert monitor.alarm.proxy > monitor.alarm.best_proxy  # the proxy rose all the while
    assert monitor.roll_back(policy)
    assert all(bool((p == monitor.best_step // 1000).all()) for p in policy.parameters())


def test_in_ppo_training_the_monitor_sees_every_update_and_keeps_the_best_parameters():
    """Where PPO on the exploitable reward peaks depends on the seed and the processor
    (benchmarks/hacking_guard.py measures it); what the monitor keeps of it does not."""
    env = make_env("Push")
    monitor = RewardHackingMonitor(stop_on_alarm=False, warmup_updates=1, arm_at=0.0)
    snapshots: dict[int, dict] = {}

    def keep(progress: TrainProgress) -> None:
        snapshots[progress.step] = copy.deepcopy(progress.policy.state_dict())

    envs = LearnedRewardWrapper(make_vector_env("workbench/Push-v0", 4), PushTheCubeForward(env))
    config = PPOConfig(num_envs=4, rollout_steps=64, total_steps=4 * 64 * 8, seed=seed(0))
    policy = train_ppo(envs, config, callbacks=(monitor, keep))
    envs.close()
    history = monitor.history
    assert [h["step"] for h in history] == sorted(snapshots)  # one entry per update
    assert monitor.best_success == max(h["smoothed_success"] for h in history[1:])
    assert monitor.roll_back(policy)
    for name, tensor in policy.state_dict().items():  # exactly the best update's parameters
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
    assert monitor.alarm is not None and monitor.alarm.best == 0.6
    assert "reward hacking suspected" in str(monitor.alarm)
    quiet = RewardHackingMonitor(warmup_updates=0, smoothing=0.0)
    for u, (proxy, success) in enumerate([(1, 0.5), (2, 0.6), (1, 0.1), (0.5, 0.0)], 1):
        assert quiet(progress(u, proxy, success)) is True  # truth fell with the proxy: not hacking
    assert quiet.alarm is None


def test_given_an_evaluation_the_monitor_watches_it_not_the_exploring_policy():
    """The exploring policy's success may fall while its mean action improves (PPO on Push's
    learned progress, benchmarks/hacking_guard.py): that is no alarm. A fall of the evaluated
    success while the proxy rises is."""
    policy = GaussianPolicy(3, 2)

    def run(evaluations, training_success):
        asked: list[int] = []  # the updates at which the monitor evaluated

        def evaluate(_policy) -> dict[str, float]:
            asked.append(update)
            return {"success_rate": evaluations[len(asked) - 1], "mean_return": 0.0}

        monitor = RewardHackingMonitor(evaluate=evaluate, eval_every=2, warmup_updates=1,
                                       smoothing=0.0)
        for update in range(1, 2 * len(evaluations) + 1):  # the proxy rises throughout
            progress = TrainProgress(update * 100, 10_000, update, 1.0, update, float(update),
                                     training_success(update), 0.0, {}, policy)
            if monitor(progress) is False:
                break
        return monitor, asked

    quiet, asked = run([0.5, 0.6, 0.7, 0.8], lambda update: 1.0 / update)  # training falls
    assert quiet.alarm is None and asked == [2, 4, 6, 8]
    assert [h["success"] for h in quiet.history] == [0.5, 0.6, 0.7, 0.8]
    hacked, asked = run([0.5, 0.8, 0.3, 0.2, 0.2], lambda update: 0.9)  # training holds
    assert hacked.alarm is not None and hacked.alarm.best == 0.8
    assert hacked.best_step == 400 and asked == [2, 4, 6, 8]  # two checks below the best: stop


def proxy_rising(returns, successes=None):
    """Checks (proxy, success, reference return) with the learned return rising throughout."""
    successes = successes or [0.0] * len(returns)
    return [(100.0 * u, successes[u - 1], r) for u, r in enumerate(returns, 1)]


def _watch(monitor, checks, start_update=1):
    """Feed ``monitor`` one evaluated check per update: (proxy, success, reference return).
    Each update's policy has every parameter equal to its update, so a roll-back names one."""
    policy = GaussianPolicy(3, 2)
    checks = iter(checks)
    current: dict[str, float] = {}

    def evaluate(_policy):
        return current

    monitor.evaluate, monitor.eval_every = evaluate, 1
    for update, (proxy, success, ret) in enumerate(checks, start_update):
        current.update(success_rate=success, mean_return=ret)
        with torch.no_grad():
            for parameter in policy.parameters():
                parameter.fill_(update)
        if monitor(TrainProgress(update * 100, 10_000, update, 1.0, update, proxy, 0.0, ret, {},
                                 policy)) is False:
            break
    return policy


def test_where_success_stays_rare_a_falling_reference_return_raises_the_alarm():
    """The hopper's online preference run (docs/BENCHMARKS.md): it never stood, so success never
    armed the guard, while its reference return rose and fell back as the learned return
    doubled. The reference return is the second witness, and the roll-back goes to its best."""
    monitor = RewardHackingMonitor(warmup_updates=0, smoothing=0.0, return_scale=500)
    # The best at update 4; half of what it gained lost at 90 and 70.
    policy = _watch(monitor, proxy_rising([30, 60, 120, 160, 150, 90, 70, 60]))
    alarm = monitor.alarm
    assert alarm is not None and alarm.witness == "reference return"
    assert (alarm.step, alarm.best_step, alarm.best, alarm.value) == (700, 400, 160, 70)
    assert "reference return fell to 70.0 from 160.0 (step 400)" in str(alarm)
    assert monitor.best_step == 400 and monitor.roll_back(policy)
    assert all(bool((p == 4).all()) for p in policy.parameters())
    assert monitor.history[-1]["return"] == 70  # the run stopped at the alarm


def test_a_truth_that_halves_under_a_learned_return_holding_its_height_rings():
    """HopperStand seed 14 (docs/BENCHMARKS.md): the reference return rose with the learned
    return to a best, then halved while the learned return stayed where it was. Until
    2026-12-07 the learned return had to rise a further 10% and nothing rang."""
    returns = [35, 51, 67, 87, 72, 70, 84, 110, 91, 86, 92, 96, 87, 100, 99, 62, 41, 47, 41]
    proxies = [223, 269, 296, 426, 430, 315, 215, 346, 264, 235, 204, 311, 715, 842, 997, 964,
               1000, 952, 1075]
    checks = [(p, 0.0, r) for p, r in zip(proxies, returns, strict=True)]
    monitor = RewardHackingMonitor(warmup_updates=0, return_scale=500)
    _watch(monitor, checks)
    alarm = monitor.alarm
    assert alarm is not None and alarm.witness == "reference return"
    assert alarm.best_step == 1500 and alarm.step == 1800  # the best, then two checks below it
    rising = RewardHackingMonitor(warmup_updates=0, return_scale=500, proxy_hold=-0.1)
    _watch(rising, checks)  # the rule as it was: the proxy 10% above its value at the best
    assert rising.alarm is None


@pytest.mark.parametrize("case, checks", [
    # The return wobbled but never gained a tenth of the most an episode pays (50 of 500).
    ("never gained enough", proxy_rising([30, 60, 75, 40, 30, 20, 25, 20])),
    # It fell back, but so did the learned return: the reward is wrong, not hacked.
    ("the proxy fell too", [(700 - 100 * abs(u - 4), 0.0, r) for u, r in
                            enumerate([30, 60, 120, 160, 90, 70, 60, 50], 1)]),
    # Success armed the first witness: it held, so the return's fall is no alarm.
    ("success holds", proxy_rising([30, 60, 160, 90, 60, 50], [0.0, 0.2, 0.4, 0.4, 0.4, 0.4])),
])
def test_the_reference_return_raises_no_alarm_where_it_should_not(case, checks):
    monitor = RewardHackingMonitor(warmup_updates=0, smoothing=0.0, return_scale=500)
    _watch(monitor, checks)
    assert monitor.alarm is None, (case, monitor.history)


def test_a_gain_counts_against_the_most_an_episode_pays():
    """The first quiet case above, where an episode pays at most 200: its gain of 45 is then
    more than a tenth of that, and its fall rings."""
    ringing = RewardHackingMonitor(warmup_updates=0, smoothing=0.0, return_scale=200)
    _watch(ringing, proxy_rising([30, 60, 75, 40, 30, 20, 25, 20]))
    assert ringing.alarm is not None and ringing.alarm.best == 75


def test_without_a_return_scale_success_is_the_only_witness():
    monitor = RewardHackingMonitor(warmup_updates=0, smoothing=0.0)
    _watch(monitor, proxy_rising([30, 60, 120, 160, 150, 90, 70, 60]))
    assert monitor.alarm is None


# A walker taught its forward speed (benchmarks/hacking_guard.py --rewards speed, seed 11): its
# mean action's success on the guard's 10 episodes at each check, the proxy rising throughout.
# One lucky check (4 of 10) makes the best; the policies around it succeed about 1 time in 20.
WALKER = proxy_rising([50.0] * 10, [0.0, 0.0, 0.0, 0.0, 0.1, 0.4, 0.1, 0.0, 0.1, 0.0])


def measured_again(success_of_update):
    """A ``confirm`` that measures each update's policy (its parameters say which) on fresh
    episodes; the updates it was asked about, in order."""
    asked = []

    def confirm(policy):
        update = int(next(policy.parameters()).flatten()[0].item())
        asked.append(update)
        return {"success_rate": success_of_update(update), "mean_return": 0.0}

    return confirm, asked


def test_a_fall_from_a_lucky_best_is_measured_again_before_it_rings():
    unconfirmed = RewardHackingMonitor(warmup_updates=0)
    _watch(unconfirmed, WALKER)
    assert unconfirmed.alarm is not None and unconfirmed.alarm.best_step == 600  # the lucky one

    confirm, asked = measured_again(lambda update: 0.05)
    monitor = RewardHackingMonitor(warmup_updates=0, confirm=confirm)
    _watch(monitor, WALKER)
    assert monitor.alarm is None, monitor.history
    assert asked[:2] == [6, unconfirmed.alarm.step // 100]  # the best policy, then the current
    # The best is now what its policy measured: below the 15% that arms the witness, which
    # waits for success to rise again.
    assert monitor.success.best == 0.05 and monitor.success.strikes == 0
    assert monitor.best_success < monitor.arm_at


def test_a_fall_that_holds_on_fresh_episodes_rings_and_says_so(tmp_path):
    from workbench.rl.checkpoint import load_checkpoint, save_checkpoint

    confirm, asked = measured_again(lambda update: 0.4 if update <= 6 else 0.0)
    monitor = RewardHackingMonitor(warmup_updates=0, confirm=confirm)
    _watch(monitor, WALKER)
    alarm = monitor.alarm
    assert alarm is not None and alarm.best_step == 600 and alarm.confirmed == (0.4, 0.0)
    assert str(alarm).endswith("(step 600); on fresh episodes 0% against the best policy's 40%")
    assert len(asked) == 2  # asked only when the rule rang
    path = save_checkpoint(tmp_path / "c.safetensors", {"guard": monitor.get_state()})
    resumed = RewardHackingMonitor()
    resumed.set_state(load_checkpoint(path)["guard"])
    assert resumed.alarm == alarm  # a resumed run's report names the same confirmed alarm


def test_the_reference_return_is_measured_again_too():
    def confirm(policy):
        update = int(next(policy.parameters()).flatten()[0].item())
        return {"success_rate": 0.0, "mean_return": {4: 150.0}.get(update, 65.0)}

    monitor = RewardHackingMonitor(warmup_updates=0, smoothing=0.0, return_scale=500,
                                   confirm=confirm)
    _watch(monitor, proxy_rising([30, 60, 120, 160, 150, 90, 70, 60]))
    assert monitor.alarm is not None and monitor.alarm.confirmed == (150.0, 65.0)
    assert "on fresh episodes 65.0 against the best policy's 150.0" in str(monitor.alarm)


def test_the_monitor_goes_on_from_its_checkpointed_state_as_if_never_stopped(tmp_path):
    """A resumed run's guard keeps both witnesses' bests, strikes and smoothing."""
    from workbench.rl.checkpoint import load_checkpoint, save_checkpoint

    checks = proxy_rising([30, 60, 120, 160, 150, 90, 70, 50, 40, 40])
    whole = RewardHackingMonitor(warmup_updates=0, return_scale=500)
    _watch(whole, checks)
    first = RewardHackingMonitor(warmup_updates=0, return_scale=500)
    _watch(first, checks[:8])  # one strike so far (smoothed)
    assert first.reference.strikes == 1 and first.alarm is None
    path = save_checkpoint(tmp_path / "c.safetensors", {"guard": first.get_state()})
    resumed = RewardHackingMonitor(warmup_updates=0, return_scale=500)
    resumed.set_state(load_checkpoint(path)["guard"])
    _watch(resumed, checks[8:], start_update=9)
    assert whole.alarm is not None and resumed.alarm == whole.alarm
    assert resumed.history == whole.history
    assert resumed.roll_back(policy := GaussianPolicy(3, 2))
    assert all(bool((p == whole.best_step // 100).all()) for p in policy.parameters())
