"""Hopper: a planar one-legged robot with four torque-driven joints (waist, hip, knee, ankle).

The MJCF is dm_control's ``suite/hopper.xml`` (Apache-2.0, DeepMind), loaded from the installed
package at run time, not copied; ``robots.suite`` keeps the robot and drops dm_control's floor,
lights and cameras, whose two views the hopper gets back here, following it. Hardware mapping:
the four actuators in file order, torques normalised to [-1, 1] by each motor's gear. It is the
robot of the first deep preference-learning results (Christiano et al. 2017 taught it a
backflip from 900 human comparisons).
"""

from __future__ import annotations

import mujoco

from robots.suite import SuiteLeggedRobot
from workbench.sim.physics import Physics

FOLLOW = mujoco.mjtCamLight.mjCAMLIGHT_TRACKCOM


class Hopper(SuiteLeggedRobot):
    xml = "hopper.xml"
    description = "planar one-legged hopper, 4 torque-controlled joints (dm_control MJCF)"

    def spec(self) -> mujoco.MjSpec:
        spec = super().spec()
        torso = spec.body("torso")  # dm_control's cam0 and back, moved from its world
        torso.add_camera(name="side", pos=[0.0, -2.8, -0.2], quat=[0.7071, 0.7071, 0.0, 0.0],
                         mode=FOLLOW)
        torso.add_camera(name="back", pos=[-2.0, -0.2, 0.2], xyaxes=[0.2, -1.0, 0.0, 0.5, 0.0, 2.0],
                         mode=FOLLOW)
        return spec

    def bind(self, physics: Physics) -> None:
        super().bind(physics)
        model = physics.model
        self._foot = model.body(self.name("foot")).id
        self._pitch = model.joint(self.name("rooty")).qposadr[0]

    def set_pitch(self, physics: Physics, angle: float) -> None:
        """Tip the whole hopper by ``angle`` (radians, about its hinge's axis)."""
        physics.data.qpos[self._pitch] = angle
        physics.forward()

    def height_above_foot(self, physics: Physics) -> float:
        """The torso's centre of mass above the foot's (dm_control's measure of standing)."""
        xipos = physics.data.xipos
        return float(xipos[self._torso, 2] - xipos[self._foot, 2])
