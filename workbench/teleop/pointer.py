"""Pointer-dragged end-effector target: the API the GUI's viewport calls, Qt-free.

A press on the view grabs the gripper target; dragging moves it in the horizontal plane through
the hand (or, with ``vertical=True``, in the vertical plane facing the camera, to change height);
each control tick :meth:`PointerTarget.action` steers the hand towards the target. Pixels become
rays with the pinhole model of the camera the view shows: a camera of the model, or the viewer's
free camera (lookat, distance, azimuth, elevation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from workbench.sim.physics import Physics
from workbench.teleop.devices import check_labels


@dataclass(frozen=True)
class CameraPose:
    position: np.ndarray  # (3,)
    rotation: np.ndarray  # (3, 3): columns right, up, backward (MuJoCo cameras look along -z)
    fovy_degrees: float

    @classmethod
    def of_model_camera(cls, physics: Physics, camera: str) -> CameraPose:
        cam = physics.model.camera(camera)
        data = physics.data
        return cls(data.cam_xpos[cam.id].copy(), data.cam_xmat[cam.id].reshape(3, 3).copy(),
                   float(physics.model.cam_fovy[cam.id]))

    @classmethod
    def of_free_camera(cls, lookat, distance: float, azimuth: float, elevation: float,
                       fovy_degrees: float = 45.0) -> CameraPose:
        az, el = math.radians(azimuth), math.radians(elevation)
        forward = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az),
                            math.sin(el)])
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        position = np.asarray(lookat, dtype=float) - distance * forward
        return cls(position, np.column_stack([right, up, -forward]), fovy_degrees)

    def ray(self, x: float, y: float, width: int, height: int) -> np.ndarray:
        """Unit direction in the world of the ray through pixel (x, y) (origin top-left)."""
        tan_half = math.tan(math.radians(self.fovy_degrees) / 2)
        ndc_x = 2.0 * (x + 0.5) / width - 1.0
        ndc_y = 1.0 - 2.0 * (y + 0.5) / height
        direction = self.rotation @ np.array([ndc_x * tan_half * width / height,
                                              ndc_y * tan_half, -1.0])
        return direction / np.linalg.norm(direction)

    def project(self, point: np.ndarray, width: int, height: int) -> tuple[float, float]:
        """Pixel coordinates of a world point (the inverse of :meth:`ray`)."""
        (x, y), _ = self.project_points(np.asarray(point)[None], width, height)
        return float(x[0]), float(y[0])

    def project_points(self, points: np.ndarray, width: int, height: int
                       ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """Pixel coordinates (x, y) and depth along the view of world points (N, 3); points
        behind the camera get depth <= 0."""
        local = (np.asarray(points, np.float64) - self.position) @ self.rotation
        depth = -local[:, 2]
        tan_half = math.tan(math.radians(self.fovy_degrees) / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            ndc_x = local[:, 0] / (depth * tan_half * width / height)
            ndc_y = local[:, 1] / (depth * tan_half)
        return ((ndc_x + 1.0) * width / 2 - 0.5, (1.0 - ndc_y) * height / 2 - 0.5), depth


def plane_hit(camera: CameraPose, x: float, y: float, width: int, height: int,
              plane_point: np.ndarray, vertical: bool = False) -> np.ndarray | None:
    """Where the ray through pixel (x, y) meets the drag plane through ``plane_point``: the
    horizontal plane, or (``vertical``) the vertical plane facing the camera. None when the ray
    is parallel to the plane or the plane lies behind the camera."""
    direction = camera.ray(x, y, width, height)
    if vertical:
        normal = camera.rotation[:, 2] * np.array([1.0, 1.0, 0.0])
        normal = normal / max(np.linalg.norm(normal), 1e-9)
    else:
        normal = np.array([0.0, 0.0, 1.0])
    denom = float(direction @ normal)
    if abs(denom) < 1e-6:
        return None
    t = float((np.asarray(plane_point) - camera.position) @ normal) / denom
    return camera.position + t * direction if t > 0 else None


class PointerTarget:
    """Grab, drag and release the gripper target; actions steer the hand to it."""

    def __init__(self, labels: tuple[str, ...], max_step: float = 0.01, gain: float = 0.4):
        check_labels(labels, "pointer")
        self.labels = labels
        self.max_step = max_step
        self.gain = gain
        self.gripper_open = False
        self.target: np.ndarray | None = None
        self._plane_point = np.zeros(3)

    @property
    def dragging(self) -> bool:
        return self.target is not None

    def grab(self, hand: np.ndarray) -> None:
        self.target = np.array(hand, dtype=float)
        self._plane_point = self.target.copy()

    def drag(self, camera: CameraPose, x: float, y: float, width: int, height: int,
             vertical: bool = False) -> np.ndarray | None:
        """Move the target under the pointer; returns it (None if the ray misses the plane)."""
        if self.target is None:
            raise RuntimeError("grab() the target before dragging it")
        point = plane_hit(camera, x, y, width, height, self._plane_point, vertical)
        if point is None:
            return None  # parallel to the plane or behind the camera: keep the last target
        if vertical:  # only the height changes in this mode
            self.target[2] = point[2]
        else:
            self.target[:2] = point[:2]
        self._plane_point = self.target.copy()
        return self.target.copy()

    def release(self) -> None:
        self.target = None

    def toggle_gripper(self) -> None:
        self.gripper_open = not self.gripper_open

    def action(self, hand: np.ndarray) -> np.ndarray:
        """The action that steers the hand towards the target (holds still when not dragging)."""
        move = np.zeros(3)
        if self.target is not None:
            move = np.clip(self.gain * (self.target - hand) / self.max_step, -1.0, 1.0)
        values = {"dx": move[0], "dy": move[1], "dz": move[2],
                  "gripper": 1.0 if self.gripper_open else -1.0}
        return np.array([values[label] for label in self.labels])


def pick_body(physics: Physics, camera: CameraPose, x: float, y: float, width: int,
              height: int) -> tuple[int, np.ndarray] | None:
    """The body under a pixel and the world point hit (for drag-to-perturb), or None."""
    direction = camera.ray(x, y, width, height)
    geom = np.zeros(1, dtype=np.int32)
    distance = mujoco.mj_ray(physics.model, physics.data, camera.position, direction, None, 1,
                             -1, geom)
    if distance < 0 or geom[0] < 0:
        return None
    return int(physics.model.geom_bodyid[geom[0]]), camera.position + distance * direction
