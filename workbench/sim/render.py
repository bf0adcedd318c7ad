"""Offscreen rendering of named cameras (RGB, depth, segmentation) with one reused GL context.

A ``mujoco.Renderer`` owns a GL context and framebuffer; creating one per frame costs far more
than rendering, so :class:`CameraRenderer` keeps one per image size and switches cameras on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np


@dataclass(frozen=True)
class RenderQuality:
    """Visual quality knobs; shadows and reflections cost 3-5x on a CPU renderer."""

    shadows: bool = False
    reflections: bool = False
    skybox: bool = True
    # 4x multisampling triples the cost on Mesa's CPU renderer (18.6 -> 6.3 ms at 640x480).
    # It is fixed when the GL framebuffer is made, so it applies at construction only.
    multisample: bool = True


# Frames a learned model or a pixel policy reads, rendered alike wherever they are made (the
# recorder, replays, pretraining, observations, training): no multisampling, which triples the
# cost of a 64x64 view under Mesa and moves a fitted perceptual reward's scores little
# (docs/BENCHMARKS.md, "pixels to policy").
MODEL_FRAMES = RenderQuality(multisample=False)


def viewer_camera(model: mujoco.MjModel, viewer: Mapping[str, Any]) -> mujoco.MjvCamera:
    """The free camera a scene is first seen through (``Task.viewer``: lookat, distance,
    azimuth, elevation, or a body to ``track``): the app's viewport opens on it, and films
    are shot through it unless they name a scene camera."""
    camera = mujoco.MjvCamera()
    mujoco.mjv_defaultFreeCamera(model, camera)
    if "lookat" in viewer:
        camera.lookat[:] = viewer["lookat"]
    if "track" in viewer:
        camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        camera.trackbodyid = model.body(viewer["track"]).id
    camera.distance = viewer.get("distance", camera.distance)
    camera.azimuth = viewer.get("azimuth", 150)
    camera.elevation = viewer.get("elevation", -25)
    return camera


class CameraRenderer:
    """Render any named camera (or a free ``MjvCamera``) of one model.

    Example:
        >>> with CameraRenderer(model, 84, 84) as renderer:
        ...     rgb = renderer.rgb(data, "front")
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        width: int = 84,
        height: int = 84,
        quality: RenderQuality = RenderQuality(),
    ):
        offwidth, offheight = model.vis.global_.offwidth, model.vis.global_.offheight
        if width > offwidth or height > offheight:
            # Grow the model's offscreen buffer rather than fail as mujoco.Renderer would.
            model.vis.global_.offwidth = max(width, offwidth)
            model.vis.global_.offheight = max(height, offheight)
        self.model = model
        self.width, self.height = width, height
        samples = model.vis.quality.offsamples
        if not quality.multisample:
            model.vis.quality.offsamples = 0
        try:
            self._renderer = mujoco.Renderer(model, height=height, width=width)
        except mujoco.FatalError as exc:
            raise RuntimeError(
                f"cannot create an OpenGL context for rendering ({exc}). MuJoCo chose its GL "
                "backend when it was first imported: import workbench before mujoco, or set "
                "MUJOCO_GL=egl (or osmesa) in the environment"
            ) from exc
        finally:
            model.vis.quality.offsamples = samples
        self.set_quality(quality)

    def set_quality(self, quality: RenderQuality) -> None:
        flags = self._renderer.scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = quality.shadows
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = quality.reflections
        flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = quality.skybox

    def camera_names(self) -> list[str]:
        return [self.model.camera(i).name for i in range(self.model.ncam)]

    def _update(self, data: mujoco.MjData, camera: str | int | mujoco.MjvCamera) -> None:
        if isinstance(camera, str) and mujoco.mj_name2id(
            self.model, mujoco.mjtObj.mjOBJ_CAMERA, camera
        ) < 0:
            raise KeyError(f"no camera {camera!r}; cameras: {self.camera_names()}")
        self._renderer.update_scene(data, camera=camera)

    def rgb(self, data: mujoco.MjData, camera: str | int | mujoco.MjvCamera = -1) -> np.ndarray:
        self._update(data, camera)
        return self._renderer.render()

    def depth(self, data: mujoco.MjData, camera: str | int | mujoco.MjvCamera = -1) -> np.ndarray:
        """Metric depth along the optical axis, float32 (H, W)."""
        self._update(data, camera)
        self._renderer.enable_depth_rendering()
        try:
            return self._renderer.render().astype(np.float32, copy=False)
        finally:
            self._renderer.disable_depth_rendering()

    def segmentation(self, data: mujoco.MjData,
                     camera: str | int | mujoco.MjvCamera = -1) -> np.ndarray:
        """Per-pixel (object id, object type), int32 (H, W, 2); -1 where nothing was hit."""
        self._update(data, camera)
        self._renderer.enable_segmentation_rendering()
        try:
            return self._renderer.render()
        finally:
            self._renderer.disable_segmentation_rendering()

    def close(self) -> None:
        # mujoco.Renderer.close() frees its framebuffers and textures in whichever GL context
        # is current, which is another renderer's when several exist: that deleted the live
        # viewport's buffers (by id) and it then read back garbage. Make ours current first.
        context = getattr(self._renderer, "_gl_context", None)
        if context is not None and getattr(self._renderer, "_mjr_context", None) is not None:
            context.make_current()
        self._renderer.close()

    def __enter__(self) -> CameraRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def camera_intrinsics(model: mujoco.MjModel, camera: str, width: int, height: int) -> np.ndarray:
    """3x3 pinhole matrix of a named camera for an image of the given size."""
    cam = model.camera(camera)
    fovy = np.deg2rad(float(cam.fovy[0]))
    focal = 0.5 * height / np.tan(0.5 * fovy)
    return np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1.0]])
