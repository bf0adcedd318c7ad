"""A planar biped walker (MJCF written for the workbench, Apache-2.0).

Control mode ``joint_torque``: six hip/knee/ankle motors, each action in [-1, 1] scaled by the
motor's gear. The root (x, z, pitch) is unactuated.
"""

from __future__ import annotations

import numpy as np

from workbench.assets import asset
from workbench.robot import HardwareMapping, Robot
from workbench.sim.control import ActuatorRangeController, Controller
from workbench.sim.mirror import Mirror, joined
from workbench.sim.physics import Physics

LEG_JOINTS = ("right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")


class PlanarWalker(Robot):
    mjcf = asset("robots", "walker", "walker.xml")
    control_modes = ("joint_torque",)
    default_control_mode = "joint_torque"
    description = "planar biped walker, 6 torque-controlled joints"
    feature_notes = {
        "orientations": "for the torso, then the right thigh, leg and foot and the left ones: "
                        "the xx and xz entries of its rotation (cos and sin of its pitch)",
        "height": "the torso's height above the floor (m)",
        "velocity": "the root's velocities, up (z), forward (x) and pitch (m/s, rad/s), then "
                    "the right hip, knee, ankle and the left ones (rad/s)",
    }
    readouts = {"forward_speed": 'f["velocity"][:, 1]',
                "upright": 'f["orientations"][:, 0]'}  # cosine of the torso's pitch

    def bind(self, physics: Physics) -> None:
        model = physics.model
        self._root = [model.joint(self.name(j)) for j in ("rootz", "rootx", "rooty")]
        self._root_qpos = np.array([j.qposadr[0] for j in self._root])
        self._root_dof = np.array([j.dofadr[0] for j in self._root])
        self._qpos = np.array([model.joint(self.name(j)).qposadr[0] for j in LEG_JOINTS])
        self._dofs = np.array([model.joint(self.name(j)).dofadr[0] for j in LEG_JOINTS])
        self._ranges = np.array([model.joint(self.name(j)).range for j in LEG_JOINTS])
        self._torso = model.body(self.name("torso")).id
        limbs = ("right_thigh", "right_leg", "right_foot", "left_thigh", "left_leg", "left_foot")
        bodies = np.array([self._torso, *(model.body(self.name(b)).id for b in limbs)])
        # Flat indices of each body's xx and xz rotation entries in data.xmat (nbody x 9).
        self._orientation_index = (bodies[:, None] * 9 + np.array([0, 2])).ravel()
        self._velocity_dofs = np.concatenate([self._root_dof, self._dofs])
        self._model = model  # the legs' mirror is read off it when first asked

    def reset(self, physics: Physics, rng: np.random.Generator) -> None:
        data = physics.data
        data.qpos[self._root_qpos] = 0.0
        data.qvel[:] = 0.0
        # Random joint angles inside their limits keep the start from being one fixed pose.
        low, high = self._ranges[:, 0], self._ranges[:, 1]
        data.qpos[self._qpos] = np.clip(rng.normal(0.0, 0.1, size=6), low, high)
        data.ctrl[:] = 0.0
        physics.forward()

    def make_controller(self, mode: str, physics: Physics) -> Controller:
        self.check_mode(mode)
        return ActuatorRangeController(physics.model, tuple(self.name(j) for j in LEG_JOINTS))

    def torso_height(self, physics: Physics) -> float:
        return float(physics.data.xpos[self._torso, 2])

    def torso_upright(self, physics: Physics) -> float:
        """Cosine of the torso's tilt: 1 upright, -1 upside down."""
        return float(physics.data.xmat[self._torso, 8])

    def forward_velocity(self, physics: Physics) -> float:
        return float(physics.data.qvel[self._root_dof[1]])

    def torso_x(self, physics: Physics) -> float:
        return float(physics.data.qpos[self._root_qpos[1]])

    def features(self) -> dict[str, int]:
        return {"orientations": 14, "height": 1, "velocity": 9}

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        data = physics.data
        return {  # orientation in the x-z plane: the xx and xz entries of each body's rotation
            "orientations": data.xmat.ravel()[self._orientation_index],
            "height": data.xpos[self._torso, 2:3],
            "velocity": data.qvel[self._velocity_dofs],
        }

    def mirror_joints(self) -> tuple[str, ...]:
        return LEG_JOINTS

    def mirror(self) -> dict[str, Mirror] | None:
        """Left and right legs swap (the walker moves in its plane, so nothing turns sign):
        each leg joint's angle and speed, and each limb's orientation, read from its twin."""
        legs = self.joints_mirror(self._model)
        if legs is None:
            return None
        limbs = Mirror((1.0,) * 12, tuple(2 * leg + i for leg in legs.order for i in (0, 1)))
        return {
            "orientations": joined({"torso": 2, "limbs": 12},
                                   {"torso": Mirror((1.0, 1.0)), "limbs": limbs}),
            "height": Mirror((1.0,)),
            "velocity": joined({"root": 3, "legs": 6}, {"root": Mirror((1.0,) * 3), "legs": legs}),
        }

    def hardware_mapping(self, control_mode: str, control_dt: float) -> HardwareMapping:
        return HardwareMapping(
            joint_order=LEG_JOINTS,
            joint_units="N*m (normalised by gear)",
            control_rate_hz=1.0 / control_dt,
            command="joint_torque",
        )
