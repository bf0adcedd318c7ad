"""Register every installed scene with gymnasium as ``workbench/<Scene>-v0``."""

from __future__ import annotations

import gymnasium as gym

from workbench.registry import SCENES


def env_id(scene: str) -> str:
    return f"workbench/{scene}-v0"


def register_envs(include_dm_control: bool = True) -> list[str]:
    """Register every scene plugin, and every dm_control suite task when dm_control is there."""
    ids: list[str] = []
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
    if include_dm_control:
        from workbench.envs import dm_control_adapter

        dm_control_adapter.register(ids)
    return ids
