"""Drag-to-perturb: pull an object with a spring from the grabbed point to the pointer.

This is what MuJoCo's own viewer does with Ctrl+right-drag: a force (and the torque it makes
about the body's centre of mass) in ``xfrc_applied``, here a critically damped spring scaled by
the body's mass, so a light cube and a heavy drawer both follow at about the same pace. Qt-free:
the viewport calls :meth:`Perturbation.grab`, :meth:`drag` and :meth:`release`; the session
calls :meth:`apply` before every physics step.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from workbench.sim.physics import Physics
from workbench.teleop.pointer import CameraPose, pick_body, plane_hit


class Perturbation:
    def __init__(self, frequency_hz: float = 4.0, max_accel: float = 30.0):
        self.omega = 2 * math.pi * frequency_hz
        self.max_accel = max_accel  # force limit in body-masses x m/s^2: a drag cannot explode
        self.body: int | None = None
        self.target: np.ndarray | None = None
        self._local = np.zeros(3)

    @property
    def active(self) -> bool:
        return self.body is not None

    def grab_at(self, physics: Physics, camera: CameraPose, x: float, y: float, width: int,
                height: int) -> int | None:
        """Grab the movable body under pixel (x, y); returns its id, None for nothing or a body
        welded to the world (the table, the cabinet)."""
        hit = pick_body(physics, camera, x, y, width, height)
        if hit is None or physics.model.body_weldid[hit[0]] == 0:
            return None
        self.grab(physics, *hit)
        return self.body

    def grab(self, physics: Physics, body: int, point: np.ndarray) -> None:
        data = physics.data
        rotation = data.xmat[body].reshape(3, 3)
        self.body = body
        self._local = rotation.T @ (np.asarray(point, float) - data.xpos[body])
        self.target = np.array(point, float)

    def drag(self, camera: CameraPose, x: float, y: float, width: int, height: int,
             vertical: bool = False) -> np.ndarray | None:
        if self.target is None:
            raise RuntimeError("grab a body before dragging it")
        point = plane_hit(camera, x, y, width, height, self.target, vertical)
        if point is not None:
            if vertical:
                self.target[2] = point[2]
            else:
                self.target[:2] = point[:2]
        return self.target.copy()

    def grabbed_point(self, physics: Physics) -> np.ndarray:
        data = physics.data
        return data.xpos[self.body] + data.xmat[self.body].reshape(3, 3) @ self._local

    def apply(self, physics: Physics) -> None:
        """Write this step's spring force and torque into ``xfrc_applied``."""
        if self.body is None:
            return
        model, data = physics.model, physics.data
        mass = float(model.body_subtreemass[self.body])
        point = self.grabbed_point(physics)
        velocity = np.zeros(6)  # [angular, linear] at the body frame origin, world-aligned
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, self.body, velocity, 0)
        lever = point - data.xpos[self.body]
        point_velocity = velocity[3:] + np.cross(velocity[:3], lever)
        accel = self.omega**2 * (self.target - point) - 2 * self.omega * point_velocity
        norm = np.linalg.norm(accel)
        if norm > self.max_accel:
            accel *= self.max_accel / norm
        force = mass * accel
        data.xfrc_applied[self.body, :3] = force
        data.xfrc_applied[self.body, 3:] = np.cross(point - data.xipos[self.body], force)

    def release(self, physics: Physics) -> None:
        if self.body is not None:
            physics.data.xfrc_applied[self.body] = 0.0
        self.body, self.target = None, None
