"""Films of a scene: one of its cameras rendered after every reset and step into an MP4, at the
control rate, so that the film plays at the speed the robot moves. A bundle's simulated run
(:mod:`workbench.export.filming`) and a training run's films of its policy
(:mod:`workbench.rl.films`) are both made here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from workbench.config import ConfigError
from workbench.envs.env import WorkbenchEnv

SIZE = (640, 480)  # width, height: even (H.264's 4:2:0), the viewport's size


def check_new_film(path: Path, option: str) -> None:
    """Refuse, naming ``option``, a film path that is not a new ``.mp4``: a film made before is
    never written over."""
    if path.suffix.lower() != ".mp4":
        raise ConfigError(f"{option}: give a path ending in .mp4, not {path}")
    if path.exists():
        raise ConfigError(f"{option}: {path} exists; give a new path (a film made before is "
                          "not overwritten)")


class Film:
    """An MP4 of ``env`` through one of its scene cameras, or by default through the free
    camera the app's viewport opens on (``env.viewer``: a three-quarter view of the table, or
    following a walker); ``shoot()`` adds the current state's frame.

    The film is written beside ``path`` (``NAME.part.mp4``) and takes its name on ``close()``,
    so a process killed while filming leaves no half film under that name; ``discard()`` (or an
    error inside ``with``) removes what was shot.

    Example:
        >>> with Film(env, "policy.mp4") as film:
        ...     env.reset(seed=0); film.shoot()
    """

    def __init__(self, env: WorkbenchEnv, path: str | Path, camera: str = "",
                 size: tuple[int, int] = SIZE):
        from workbench.data.formats.video import VideoWriter  # PyAV, only when filming
        from workbench.sim.render import CameraRenderer, viewer_camera

        self.env, self.path = env, Path(path)
        self._part = self.path.with_name(self.path.stem + ".part" + self.path.suffix)
        self._ended = False
        self.renderer = CameraRenderer(env.physics.model, *size)
        cameras = self.renderer.camera_names()
        if camera and camera not in cameras:
            self.renderer.close()
            raise ValueError(f"camera: {env.task.name} has the cameras {cameras}, not "
                             f"{camera!r}")
        self.camera = camera or viewer_camera(env.physics.model, env.viewer)
        try:
            # x264's "veryfast": 1.6-1.9 ms a 640x480 frame against "medium"'s 2.3-3.3, in
            # smaller files on these flat-shaded scenes (benchmarks/film_cost.py)
            self.video = VideoWriter(self._part, fps=1.0 / env.control_dt, preset="veryfast")
        except BaseException:
            self.renderer.close()
            raise

    @property
    def frames(self) -> int:
        return self.video.frames

    def shoot(self) -> None:
        self.video.add(np.ascontiguousarray(self.renderer.rgb(self.env.physics.data,
                                                              self.camera)))

    def close(self) -> None:
        """Finish the film and give it its name (one that fails to finish is removed)."""
        if self._ended:
            return
        try:
            self._end()
        except BaseException:
            self._part.unlink(missing_ok=True)
            raise
        self._part.replace(self.path)

    def discard(self) -> None:
        """End without a film: what was shot is removed."""
        if self._ended:
            return
        try:
            self._end()
        finally:
            self._part.unlink(missing_ok=True)

    def _end(self) -> None:
        self._ended = True
        try:
            self.video.close()
        finally:
            self.renderer.close()

    def __enter__(self) -> Film:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.discard()


def shoot_episode(env: WorkbenchEnv, act: Callable[[np.ndarray], np.ndarray], film: Film,
                  seed: int) -> dict[str, Any]:
    """One episode of ``act`` from ``seed`` into an open ``film``: its return and success."""
    total, info = 0.0, dict[str, Any]()
    obs, _ = env.reset(seed=seed)
    film.shoot()
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(act(obs))
        film.shoot()
        total += float(reward)
        done = terminated or truncated
    return {"return": total, "success": bool(info.get("success", False))}


def film_episode(env: WorkbenchEnv, act: Callable[[np.ndarray], np.ndarray], path: Path,
                 seed: int, camera: str = "") -> dict[str, Any]:
    """One episode of ``act`` from ``seed``, filmed into ``path``."""
    with Film(env, path, camera) as film:
        shot = shoot_episode(env, act, film, seed)
    return {"path": str(path), **shot}
