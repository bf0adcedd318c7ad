"""SAC with hindsight relabelling on goal-conditioned scenes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.margins import at_least, seed
from workbench.envs.env import make_env
from workbench.envs.goal import GoalEnv, make_goal_env
from workbench.rl.sac import GoalReplay, SACConfig, evaluate_sac, train_sac


def test_goal_env_hides_the_goal_from_the_observation_and_rewards_sparsely():
    env = make_goal_env("Reach")
    obs, _ = env.reset(seed=0)
    base = env.unwrapped
    target = base.task.target_position(base.physics)
    assert obs["observation"].shape[0] == base.state_dim - 6  # target_pos, hand_to_target
    np.testing.assert_allclose(obs["desired_goal"], target, atol=1e-6)
    goals = np.stack([obs["desired_goal"], obs["desired_goal"] + 0.5])
    rewards = env.compute_reward(np.stack([obs["desired_goal"]] * 2), goals)
    np.testing.assert_array_equal(rewards, [0.0, -1.0])  # vectorised, within 2 cm or not
    _, reward, _, _, info = env.step(np.zeros(env.action_space.shape))
    assert reward == -1.0 and info["is_success"] is False
    with pytest.raises(ValueError, match="not goal-conditioned"):
        GoalEnv(make_env("DrawerOpen"))


def test_hindsight_goals_come_from_later_in_the_same_episode():
    replay = GoalReplay(20, obs_dim=1, goal_dim=1, act_dim=1)
    for episode in range(2):
        for t in range(10):
            achieved = 100 * episode + t
            replay.add([t], [0], -1.0, [t + 1], 0.0, [-5.0], [achieved])
        replay.end_episode()
    rng = np.random.default_rng(0)
    reward_fn = lambda a, g: -(np.abs(a - g)[:, 0] > 0.5).astype(np.float32)  # noqa: E731
    obs, _, reward, _, _, goal = replay.sample(4000, rng, relabel=1.0, reward_fn=reward_fn)
    t = obs[:, 0].astype(int)
    episode = (goal[:, 0] >= 100).astype(int)
    future = goal[:, 0] - 100 * episode
    assert (future >= t).all() and (future <= 9).all()  # the same step or later
    # The relabelled reward is the env's reward for the new goal: 0 exactly when the goal
    # is what this very step achieved.
    np.testing.assert_array_equal(reward == 0.0, future == t)
    _, _, reward, _, _, goal = replay.sample(100, rng, relabel=0.0, reward_fn=reward_fn)
    assert (goal == -5.0).all() and (reward == -1.0).all()


@pytest.mark.rl_outcome
def test_sac_with_her_learns_sparse_reach():
    env = make_goal_env("Reach")
    agent = train_sac(env, SACConfig(total_steps=3_000, learning_starts=500, seed=seed(0)))
    result = evaluate_sac(agent, make_goal_env("Reach"), 20)
    at_least(("SAC+HER: sparse Reach success after 3k steps", result["success_rate"], 0.8))
