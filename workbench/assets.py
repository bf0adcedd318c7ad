"""Where scene and robot assets live: MJCF, meshes and textures under the project's
``assets/`` folder (``assets/scenes/<scene>/``, ``assets/robots/<robot>/``).

In a checkout and in an installed wheel alike, ``assets/`` sits beside the ``workbench``
package, so a path is found the same way in both.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "assets"


def asset(*parts: str) -> Path:
    """The path of an asset, e.g. ``asset("scenes", "push", "arena.xml")`` (not checked here:
    loading a missing file names it)."""
    return ROOT.joinpath(*parts)
