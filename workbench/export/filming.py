"""Films of a bundle's simulated episodes: what a person shares to show what a policy does.

:class:`FilmingSim` wraps a simulation driver (the plain one, or one that also records into a
workspace) and films one scene camera after every reset and every command, into one MP4 for
the whole run: the episodes follow each other in the order they ran (:class:`Film`). The film
takes its name when the run closes its driver, also after a halt or Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workbench.envs.film import Film


class FilmingSim:
    """Everything else is the wrapped driver's (``driver.env`` is the scene's env)."""

    def __init__(self, driver: Any, path: str | Path, camera: str = ""):
        self.driver = driver
        self.film = Film(driver.env, path, camera)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.driver, name)

    def reset(self, seed: int) -> None:
        self.driver.reset(seed)
        self.film.shoot()

    def send(self, command: np.ndarray) -> None:
        self.driver.send(command)
        self.film.shoot()

    def close(self) -> None:
        try:
            self.driver.close()
        finally:
            self.film.close()
