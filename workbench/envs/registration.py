"""Register every installed scene with gymnasium as ``workbench/<Scene>-v0``."""

from __future__ import annotations

import gymnasium as gym

from workbench.registry import SCENES


def env_id(scene: str) -> str:
    return f"workbench/{scene}-v0"


def register_envs() -> list[str]:
    ids = []
    for scene in SCENES.names():
        eid = env_id(scene)
        if eid not in gym.registry:
            gym.register(
                id=eid,
                entry_point="workbench.envs.env:WorkbenchEnv",
                kwargs={"scene": scene},
                disable_env_checker=True,  # checked once, in the test suite (check_env)
            )
        ids.append(eid)
    return ids
