"""Every dm_control suite task as a workbench scene: ``workbench/dmc-<domain>-<task>-v0``.

The adapter turns a ``dm_env`` environment into a gymnasium one: observations are the suite's
observation dict flattened in key order (``obs_mode="state"``), or that vector plus camera
images (``obs_mode="pixels"``); actions keep the suite's bounds; a time limit truncates, a
zero discount terminates. The suite has no success notion: its rewards are bounded shaped terms
in [0, 1], so ``info["progress"]`` is the reward and ``info["success"]`` means the reward is
on its upper plateau (>= 0.95).

The task list is kept here rather than read from ``dm_control.suite`` so that ``import
workbench`` stays fast; a test checks it against ``suite.ALL_TASKS``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import gymnasium as gym
import numpy as np

SUITE_TASKS: tuple[tuple[str, str], ...] = (
    ('acrobot', 'swingup'),
    ('acrobot', 'swingup_sparse'),
    ('ball_in_cup', 'catch'),
    ('cartpole', 'balance'),
    ('cartpole', 'balance_sparse'),
    ('cartpole', 'swingup'),
    ('cartpole', 'swingup_sparse'),
    ('cartpole', 'two_poles'),
    ('cartpole', 'three_poles'),
    ('cheetah', 'run'),
    ('dog', 'stand'),
    ('dog', 'walk'),
    ('dog', 'trot'),
    ('dog', 'run'),
    ('dog', 'fetch'),
    ('finger', 'spin'),
    ('finger', 'turn_easy'),
    ('finger', 'turn_hard'),
    ('fish', 'upright'),
    ('fish', 'swim'),
    ('hopper', 'stand'),
    ('hopper', 'hop'),
    ('humanoid', 'stand'),
    ('humanoid', 'walk'),
    ('humanoid', 'run'),
    ('humanoid', 'run_pure_state'),
    ('humanoid_CMU', 'stand'),
    ('humanoid_CMU', 'walk'),
    ('humanoid_CMU', 'run'),
    ('lqr', 'lqr_2_1'),
    ('lqr', 'lqr_6_2'),
    ('manipulator', 'bring_ball'),
    ('manipulator', 'bring_peg'),
    ('manipulator', 'insert_ball'),
    ('manipulator', 'insert_peg'),
    ('pendulum', 'swingup'),
    ('point_mass', 'easy'),
    ('point_mass', 'hard'),
    ('quadruped', 'walk'),
    ('quadruped', 'run'),
    ('quadruped', 'escape'),
    ('quadruped', 'fetch'),
    ('reacher', 'easy'),
    ('reacher', 'hard'),
    ('stacker', 'stack_2'),
    ('stacker', 'stack_4'),
    ('swimmer', 'swimmer6'),
    ('swimmer', 'swimmer15'),
    ('walker', 'stand'),
    ('walker', 'walk'),
    ('walker', 'run')
)
SUCCESS_REWARD = 0.95
LOCOMOTION = {"cheetah", "dog", "hopper", "humanoid", "humanoid_CMU", "quadruped", "swimmer",
              "walker", "fish"}
MANIPULATION = {"manipulator", "stacker", "finger", "reacher", "ball_in_cup"}


def scene_name(domain: str, task: str) -> str:
    return f"dmc-{domain}-{task}"


def available() -> bool:
    return importlib.util.find_spec("dm_control") is not None


def tags(domain: str) -> list[str]:
    kind = ("locomotion" if domain in LOCOMOTION
            else "manipulation" if domain in MANIPULATION else "control")
    return ["dm_control", kind]


def scene_infos() -> list[dict[str, Any]]:
    return [
        {"name": scene_name(d, t), "id": f"workbench/{scene_name(d, t)}-v0", "tags": tags(d),
         "robot": d, "description": f"dm_control suite: {d} {t}", "cameras": [0, 1],
         "demonstrator": False, "stand_ins": []}
        for d, t in SUITE_TASKS
    ] if available() else []


class DmControlEnv(gym.Env):
    action_space: gym.spaces.Box
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, domain: str, task: str, obs_mode: str = "state",
                 cameras: tuple[int, ...] = (0,), image_size: int = 84,
                 render_mode: str | None = None):
        from dm_control import suite

        if (domain, task) not in SUITE_TASKS:
            raise ValueError(f"no dm_control task {domain}/{task}; see SUITE_TASKS")
        if obs_mode not in ("state", "pixels"):
            raise ValueError(f"obs_mode must be 'state' or 'pixels', got {obs_mode!r}")
        self._suite = suite
        self.domain, self.task_name = domain, task
        self.obs_mode, self.cameras, self.image_size = obs_mode, tuple(cameras), image_size
        self.render_mode = render_mode
        self._env = suite.load(domain, task, task_kwargs={"random": 0})
        spec = self._env.action_spec()
        self.action_space = gym.spaces.Box(spec.minimum.astype(np.float32),
                                           spec.maximum.astype(np.float32), dtype=np.float32)
        self._keys = list(self._env.observation_spec())
        dim = sum(int(np.prod(s.shape)) for s in self._env.observation_spec().values())
        state = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
        if obs_mode == "state":
            self.observation_space = state
        else:
            size = (image_size, image_size, 3)
            self.observation_space = gym.spaces.Dict({
                "state": state,
                **{f"camera{c}": gym.spaces.Box(0, 255, size, np.uint8) for c in self.cameras},
            })
        self.metadata = {**self.metadata,
                         "render_fps": int(round(1.0 / self._env.control_timestep()))}

    def _observe(self, timestep) -> Any:
        state = np.concatenate(
            [np.asarray(timestep.observation[k], np.float32).ravel() for k in self._keys])
        if self.obs_mode == "state":
            return state
        physics = self._env.physics
        return {"state": state, **{
            f"camera{c}": physics.render(self.image_size, self.image_size, camera_id=c)
            for c in self.cameras}}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:  # dm_control draws its variations from the task's RandomState
            self._env.task.random.seed(seed)
        timestep = self._env.reset()
        return self._observe(timestep), {"success": False, "progress": 0.0,
                                         "reference_reward": 0.0}

    def step(self, action):
        action = np.clip(np.asarray(action, np.float64), self.action_space.low,
                         self.action_space.high)
        timestep = self._env.step(action)
        reward = float(timestep.reward or 0.0)
        last = timestep.last()
        terminated = bool(last and timestep.discount == 0.0)
        truncated = bool(last and not terminated)
        info = {"success": reward >= SUCCESS_REWARD, "progress": min(max(reward, 0.0), 1.0),
                "reference_reward": reward}
        return self._observe(timestep), reward, terminated, truncated, info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self._env.physics.render(480, 640, camera_id=self.cameras[0])

    def close(self):
        self._env.close()


def register(registry_ids: list[str]) -> None:
    """Register every suite task with gymnasium (cheap: nothing is imported)."""
    if not available():
        return
    for domain, task in SUITE_TASKS:
        eid = f"workbench/{scene_name(domain, task)}-v0"
        if eid not in gym.registry:
            gym.register(id=eid, entry_point="workbench.envs.dm_control_adapter:DmControlEnv",
                         kwargs={"domain": domain, "task": task}, disable_env_checker=True)
        registry_ids.append(eid)
