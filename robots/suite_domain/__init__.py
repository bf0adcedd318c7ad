"""The actuated body of a dm_control suite domain (the cart-pole, acrobot, pendulum, reacher,
finger, point mass).

Each of these domains is one MJCF, body and world together, and dm_control's tasks read it by
its own names; so the scene loads the whole file as its arena (``scenes.control``) and this
robot adds nothing to it. It drives every actuator of the model with an action in [-1, 1] of
its control range, as the suite's action spec does, and observes nothing itself: the scene's
observations are the suite task's own. Hardware mapping: the actuators in file order.
"""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np

from workbench.robot import HardwareMapping, Robot
from workbench.sim.control import ActuatorRangeController, Controller
from workbench.sim.physics import Physics


class SuiteDomainBody(Robot):
    description = "a dm_control suite domain's own actuators (its MJCF is the scene's arena)"
    kind = "dm_control domain"
    control_modes = ("joint_torque",)
    default_control_mode = "joint_torque"
    mjcf = Path()  # unused: the arena is the domain's file

    def spec(self) -> mujoco.MjSpec:
        return mujoco.MjSpec()  # nothing to attach: the body is in the arena already

    def bind(self, physics: Physics) -> None:
        model = physics.model
        self.actuators = tuple(model.actuator(i).name for i in range(model.nu))

    def reset(self, physics: Physics, rng: np.random.Generator) -> None:
        """Nothing: the suite task draws the whole start (``initialize_episode``)."""

    def make_controller(self, mode: str, physics: Physics) -> Controller:
        return ActuatorRangeController(physics.model, self.actuators)

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        return {}

    def features(self) -> dict[str, int]:
        return {}

    def hardware_mapping(self, control_mode: str, control_dt: float) -> HardwareMapping:
        return HardwareMapping(joint_order=self.actuators,
                               joint_units="the actuator's control range, normalised to [-1, 1]",
                               control_rate_hz=1.0 / control_dt, command="joint_torque")
