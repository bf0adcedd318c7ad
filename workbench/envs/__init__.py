"""Gymnasium environments composed from a robot and a scene."""

from workbench.envs.env import WorkbenchEnv, make_env, scene_info

__all__ = ["WorkbenchEnv", "make_env", "scene_info"]
