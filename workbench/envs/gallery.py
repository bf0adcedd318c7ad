"""Render still pictures of scenes (``workbench view --out``, ``workbench scenes --gallery``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from workbench.envs.env import WorkbenchEnv, make_env
from workbench.registry import SCENES
from workbench.sim.render import CameraRenderer, RenderQuality


def render_scene(
    scene: str, size: tuple[int, int] = (640, 480), camera: str | None = None, seed: int = 0,
    quality: RenderQuality = RenderQuality(shadows=True), robot: str | None = None,
    start: Callable[[WorkbenchEnv, int], object] | None = None,
) -> np.ndarray:
    """The scene's first camera (or ``camera``) on its start from ``seed``, or on the state
    ``start(env, seed)`` leaves (the end of a scripted take, ``workbench view --scripted``)."""
    env = make_env(scene, robot=robot)
    try:
        if start is None:
            env.reset(seed=seed)
        else:
            start(env, seed)
        cam = camera or (env.task.cameras[0] if env.task.cameras else -1)
        with CameraRenderer(env.physics.model, *size, quality=quality) as renderer:
            return renderer.rgb(env.physics.data, cam)
    finally:
        env.close()


def render_scene_png(
    scene: str, out: Path, size: tuple[int, int] = (640, 480), camera: str | None = None,
    seed: int = 0, robot: str | None = None,
    start: Callable[[WorkbenchEnv, int], object] | None = None,
) -> Path:
    image = render_scene(scene, size, camera, seed, robot=robot, start=start)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise ValueError(f"cannot write {out}; use a .png path in a writable folder")
    return out


def render_gallery(folder: Path, size: tuple[int, int] = (480, 360)) -> list[Path]:
    """Every scene with its own robot, then with each robot it is laid out for besides
    (``Push-so101.png``)."""
    folder = Path(folder)
    pictures = []
    for name in SCENES.names():
        pictures.append(render_scene_png(name, folder / f"{name}.png", size))
        for robot in SCENES.load(name).stand_ins:
            pictures.append(render_scene_png(name, folder / f"{name}-{robot}.png", size,
                                             robot=robot))
    return pictures
