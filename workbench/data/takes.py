"""Which of a workspace's takes a robot made.

A scene may be run by stand-ins of its robot's kind (the SO-101 for the default 6-joint arm), so
a workspace can hold several robots' takes of one scene; a reward fit, a dataset export or a
clip to rank names the robot whose takes it uses. A take that names no robot is the scene's own
robot's (takes recorded before robots were named).
"""

from __future__ import annotations

from typing import Any

from workbench.data.workspace import Workspace
from workbench.registry import scene_robot


def robots_takes(workspace: Workspace, scene: str, robot: str = "") -> list[dict[str, Any]]:
    """The scene's episodes, only ``robot``'s where given (a robot of another kind: refused)."""
    rows = workspace.episodes(scene=scene)
    if not robot:
        return rows
    own, wanted = scene_robot(scene), scene_robot(scene, robot)
    return [r for r in rows if (r["meta"].get("robot") or own) == wanted]


def named_robots_takes(workspace: Workspace, scene: str, robot: str) -> list[dict[str, Any]]:
    """``robot``'s takes of the scene, for a request that names it (``--robot``); refused in
    one line where there are none."""
    rows = robots_takes(workspace, scene, robot)
    if not rows:
        raise ValueError(f"--robot: no takes of {robot} in {scene} here")
    return rows
