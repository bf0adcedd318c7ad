"""Scripted takes with camera frames, recorded into a workspace, for the image-reward tests."""

from __future__ import annotations

from workbench.envs import make_env
from workbench.teleop.recorder import record_policy_episodes, scripted_policy

CAMERAS = ("front", "top")


def framed_takes(workspace, scene: str, count: int, perturbed: bool = False,
                 policy_seed: int = 0, seed: int = 0, cameras: tuple[str, ...] = CAMERAS
                 ) -> list:
    """``count`` episodes of the scene's scripted (or perturbed, failing) demonstrator with
    64x64 frames of ``cameras`` (:data:`CAMERAS` by default), loaded back."""
    env = make_env(scene)
    ids = record_policy_episodes(env, workspace, scripted_policy(env, policy_seed, perturbed),
                                 count, "perturbed" if perturbed else "scripted", seed=seed,
                                 image_cameras=cameras, image_size=64)
    env.close()
    return [workspace.load_episode(i) for i in ids]
