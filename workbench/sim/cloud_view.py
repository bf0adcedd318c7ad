"""A point-cloud view: what a point-cloud policy sees, drawn from any viewpoint.

Depth and colour from the scene's cameras are back-projected into the world
(:func:`~workbench.sim.pointcloud.depth_to_points`) and splatted into an image from the
viewer's camera, far points first so near ones cover them. Pure numpy, so the GUI can show it
without an OpenGL scene graph of its own.
"""

from __future__ import annotations

import numpy as np

from workbench.sim.pointcloud import depth_to_points
from workbench.sim.render import CameraRenderer

BACKGROUND = (24, 26, 32)


def coloured_cloud(renderer: CameraRenderer, physics, cameras: list[str]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """World points (N, 3) and their RGB colours (N, 3) seen by ``cameras``."""
    points, colours = [], []
    model, data = physics.model, physics.data
    for camera in cameras:
        depth = renderer.depth(data, camera)
        rgb = renderer.rgb(data, camera)
        finite = np.isfinite(depth) & (depth < model.stat.extent * 10)
        points.append(depth_to_points(model, data, camera, depth))
        colours.append(rgb.reshape(-1, 3)[finite.reshape(-1)])
    return np.concatenate(points), np.concatenate(colours)


def splat(points: np.ndarray, colours: np.ndarray, camera, width: int, height: int,
          size: int = 2) -> np.ndarray:
    """An RGB image of coloured points seen through ``camera`` (a ``CameraPose``)."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BACKGROUND
    (x, y), depth = camera.project_points(points, width, height)
    keep = (depth > 1e-3) & np.isfinite(x) & np.isfinite(y)
    keep &= (x >= 0) & (x < width - size + 1) & (y >= 0) & (y < height - size + 1)
    order = np.argsort(-depth[keep])  # far first: near points are written last and stay
    u = x[keep][order].astype(np.int64)
    v = y[keep][order].astype(np.int64)
    rgb = colours[keep][order]
    for du in range(size):
        for dv in range(size):
            image[v + dv, u + du] = rgb
    return image
