"""Films of a bundle's simulated episodes: what a person shares to show what a policy does.

:class:`FilmingSim` wraps a simulation driver (the plain one, or one that also records into a
workspace) and renders one named camera after every reset and every command, into one MP4 for
the whole run: the episodes follow each other in the order they ran. The frame rate is the
control rate, so the film plays at the speed the robot would move.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SIZE = (640, 480)  # width, height: even (H.264's 4:2:0), the viewport's size


class FilmingSim:
    """Everything else is the wrapped driver's (``driver.env`` is the scene's env)."""

    def __init__(self, driver: Any, path: str | Path, camera: str = "",
                 size: tuple[int, int] = SIZE):
        from workbench.data.formats.video import VideoWriter  # PyAV, only when filming
        from workbench.sim.render import CameraRenderer

        self.driver = driver
        self.renderer = CameraRenderer(driver.env.physics.model, *size)
        cameras = self.renderer.camera_names()
        if camera and camera not in cameras:
            self.renderer.close()
            raise ValueError(f"camera: {driver.env.task.name} has the cameras {cameras}, not "
                             f"{camera!r}")
        # the scene's own view first (the one its observations and the app's viewport use)
        self.camera: str | int = camera or next(iter(driver.env.cameras or cameras), -1)
        self.video = VideoWriter(path, fps=driver.control_rate_hz)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.driver, name)

    def _film(self) -> None:
        self.video.add(np.ascontiguousarray(
            self.renderer.rgb(self.driver.env.physics.data, self.camera)))

    def reset(self, seed: int) -> None:
        self.driver.reset(seed)
        self._film()

    def send(self, command: np.ndarray) -> None:
        self.driver.send(command)
        self._film()

    def close(self) -> None:
        try:
            self.driver.close()
        finally:
            self.video.close()
            self.renderer.close()
