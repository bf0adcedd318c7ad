"""The workbench's scenes as robomimic environments, so robomimic's ``train.py`` can roll its
policies out in them.

robomimic 0.3 builds a dataset's environment from ``env_args`` in the HDF5 file: type 2 (gym)
makes ``gym.make(env_name, **env_kwargs)`` with the *old* gym API (reset returns the
observation, step four values) and reads the observation as ``{"flat": obs}`` and success
from ``env.unwrapped._check_success()``. The exports name ``env_name =
"workbench.envs.robomimic_env:workbench/<Scene>-v0"``: gym imports this module first, which
registers every scene under that id with :class:`RobomimicScene`, an old-API view of the
gymnasium env. The registration needs the old ``gym`` package, which only robomimic's venv
has; elsewhere the module imports and registers nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.envs.env import make_env
from workbench.registry import SCENES

try:
    import gym
except ImportError:  # not robomimic's process
    gym = None


class RobomimicScene:
    """A workbench scene with gym's pre-0.26 API (what robomimic's ``EnvGym`` calls)."""

    metadata = {"render_modes": ["rgb_array"]}
    spec = None

    def __init__(self, scene: str, **kwargs: Any):
        self.env = make_env(scene, render_mode="rgb_array", **kwargs)
        self.observation_space = self.env.observation_space
        self.action_space = self.env.action_space
        self.unwrapped = self
        self._success = False
        self._episodes = 0

    def reset(self, **kwargs: Any) -> np.ndarray:
        obs, info = self.env.reset(seed=kwargs.get("seed", 20_000 + self._episodes))
        self._episodes += 1
        self._success = bool(info.get("success", False))
        return obs

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(np.asarray(action, np.float32))
        self._success = bool(info["success"])
        return obs, float(reward), bool(terminated or truncated), info

    def _check_success(self) -> dict[str, bool]:
        return {"task": self._success}

    def render(self, mode: str = "rgb_array", height: int | None = None,
               width: int | None = None, **kwargs: Any) -> np.ndarray:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


if gym is not None:
    for _name in SCENES.names():
        gym.envs.registration.register(
            id=f"workbench/{_name}-v0", entry_point=RobomimicScene, kwargs={"scene": _name},
            disable_env_checker=True)
