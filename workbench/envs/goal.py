"""Goal-conditioned view of a scene, for hindsight experience replay.

Gymnasium-Robotics' convention: observations are dicts of ``observation`` (the state without
the goal), ``achieved_goal`` and ``desired_goal``, and ``compute_reward(achieved, desired,
info)`` is vectorised, so a replay buffer can recompute the reward of any stored transition for
a goal it did not have (Andrychowicz et al., 2017). The reward is sparse: 0 within the scene's
``goal_tolerance`` of the goal, -1 elsewhere. Any scene that declares ``goal_features`` and
``achieved_goal``/``desired_goal`` qualifies (Reach, Push).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from workbench.envs.env import WorkbenchEnv, make_env


class GoalEnv(gym.Wrapper):
    def __init__(self, env: WorkbenchEnv):
        task = env.task
        if not task.goal_features or task.goal_tolerance <= 0:
            raise ValueError(
                f"{env.scene_name} is not goal-conditioned (its task declares no goal_features "
                "and goal_tolerance); goal-conditioned scenes: Reach, Push")
        super().__init__(env)
        self.base = env
        keep: list[int] = []
        start, starts = 0, {}
        for name, size in env.features.items():
            if name not in task.goal_features:
                keep.extend(range(start, start + size))
            starts[name] = start
            start += size
        self._keep = np.array(keep)
        self.tolerance = float(task.goal_tolerance)
        goal_dim = len(task.desired_goal(env.physics))
        # Where each input of a goal-conditioned policy (observation, then desired goal) sits
        # in the scene's flat state: what turns such a policy into one over flat states.
        goal_at = starts[task.goal_features[0]]
        self.flat_inputs = np.concatenate([self._keep, np.arange(goal_at, goal_at + goal_dim)])
        self.flat_dim = start
        self._checked = False
        box = lambda n: gym.spaces.Box(-np.inf, np.inf, (n,), np.float32)  # noqa: E731
        self.observation_space = gym.spaces.Dict({
            "observation": box(len(keep)), "achieved_goal": box(goal_dim),
            "desired_goal": box(goal_dim)})

    def _goal_obs(self) -> dict[str, np.ndarray]:
        env = self.base
        return {
            "observation": env.state_vector()[self._keep],
            "achieved_goal": env.task.achieved_goal(env.physics).astype(np.float32),
            "desired_goal": env.task.desired_goal(env.physics).astype(np.float32),
        }

    def compute_reward(self, achieved: np.ndarray, desired: np.ndarray,
                       info: Any = None) -> np.ndarray:
        distance = np.linalg.norm(np.asarray(achieved) - np.asarray(desired), axis=-1)
        return -(distance > self.tolerance).astype(np.float32)

    def reset(self, **kwargs):
        _, info = self.env.reset(**kwargs)
        obs = self._goal_obs()
        if not self._checked:  # the task's declaration, against its state once
            flat = self.base.state_vector()[self.flat_inputs[len(self._keep):]]
            if not np.allclose(flat, obs["desired_goal"], atol=1e-5):
                raise ValueError(f"{self.base.scene_name}: the first of goal_features does "
                                 "not hold desired_goal() in its first entries")
            self._checked = True
        return obs, info

    def step(self, action):
        _, _, terminated, truncated, info = self.env.step(action)
        obs = self._goal_obs()
        reward = float(self.compute_reward(obs["achieved_goal"], obs["desired_goal"]))
        info = {**info, "is_success": reward == 0.0}
        return obs, reward, terminated, truncated, info


def make_goal_env(scene: str, **kwargs: Any) -> GoalEnv:
    return GoalEnv(make_env(scene, **kwargs))
