"""A 6-DoF tabletop arm with a parallel gripper (MJCF written for the workbench, Apache-2.0).

Control modes:
    ``ee_delta``: Cartesian deltas (dx, dy, dz) of the grip site plus gripper opening, solved by
        damped-least-squares differential IK that holds the gripper pointing down.
    ``ee_delta_planar``: (dx, dy) at a fixed height with the gripper closed, for pushing.
    ``joint_position``: absolute joint targets for the 6 arm joints and the gripper, each mapped
        from [-1, 1] onto the actuator's range.
"""

from __future__ import annotations

import mujoco
import numpy as np

from workbench.assets import asset
from workbench.robot import HardwareMapping, Robot
from workbench.sim.control import (
    ActuatorRangeController,
    Controller,
    EndEffectorConfig,
    EndEffectorDeltaController,
)
from workbench.sim.physics import Physics

ARM_JOINTS = (
    "shoulder_yaw",
    "shoulder_pitch",
    "elbow_pitch",
    "wrist_pitch",
    "wrist_roll",
    "wrist_tilt",
)
HOME = np.array([0.0, 0.5, 1.7, 0.94, 0.0, 0.0])  # gripper down, ~0.35 m in front, 7 cm high


class Arm6(Robot):
    mjcf = asset("robots", "arm", "arm6.xml")
    joints: tuple[str, ...] = ARM_JOINTS
    home: np.ndarray = HOME
    control_modes = ("ee_delta", "ee_delta_planar", "joint_position")
    default_control_mode = "ee_delta"
    description = "6-DoF tabletop arm with a parallel gripper"
    workspace_low = (0.15, -0.45, 0.015)
    workspace_high = (0.7, 0.45, 0.5)

    def bind(self, physics: Physics) -> None:
        model, data = physics.model, physics.data
        self._qpos = np.array([model.joint(self.name(j)).qposadr[0] for j in self.joints])
        self._dofs = np.array([model.joint(self.name(j)).dofadr[0] for j in self.joints])
        self._finger = model.joint(self.name("finger_left")).qposadr[0]
        self._finger_r = model.joint(self.name("finger_right")).qposadr[0]
        self._site = data.site(self.name("grip_site")).id
        self._servos = np.array([model.actuator(self.name(j)).id for j in self.joints])
        self._gripper = model.actuator(self.name("gripper")).id
        # The two finger pads: scenes test a grasp by both touching an object.
        self.finger_geoms = (model.geom(self.name("finger_left_geom")).id,
                             model.geom(self.name("finger_right_geom")).id)
        self._jac = np.zeros((3, model.nv))
        self._placer = EndEffectorDeltaController(model, self.ee_config(planar=False))

    def reset(self, physics: Physics, rng: np.random.Generator) -> None:
        data = physics.data
        data.qpos[self._qpos] = self.home
        data.qvel[self._dofs] = 0.0
        data.qpos[[self._finger, self._finger_r]] = 0.0
        data.ctrl[self._servos] = self.home
        data.ctrl[self._gripper] = 0.0
        physics.forward()

    def prepare_for_grasping(self, physics: Physics, grip_kp: float = 800.0) -> None:
        """Critically damp the arm's servos (MuJoCo's ``dampratio="1"``) and stiffen the grip.

        Grasping scenes call this. Undamped servos ring at about 12 Hz when the hand stops and a
        300 N/m grip lets a 4 cm cube slip, both of which shake a grasp loose; Push keeps the
        plain servos its PPO budgets were measured with. The velocity gains come from compiling
        this robot's own MJCF with the damping ratio set.
        """
        text = self.mjcf.read_text().replace('<position kp="400"',
                                             '<position kp="400" dampratio="1"')
        damped = mujoco.MjModel.from_xml_string(text)
        for joint in self.joints:
            kv = damped.actuator_biasprm[damped.actuator(joint).id, 2]
            physics.model.actuator_biasprm[physics.model.actuator(self.name(joint)).id, 2] = kv
        gripper = physics.model.actuator(self.name("gripper")).id
        physics.model.actuator_gainprm[gripper, 0] = grip_kp
        physics.model.actuator_biasprm[gripper, 1] = -grip_kp

    def ee_config(self, planar: bool) -> EndEffectorConfig:
        return EndEffectorConfig(
            site=self.name("grip_site"),
            joints=tuple(self.name(j) for j in self.joints),
            actuators=tuple(self.name(j) for j in self.joints),
            workspace_low=self.workspace_low,
            workspace_high=self.workspace_high,
            gripper_actuator=self.name("gripper"),
            planar=planar,
        )

    def make_controller(self, mode: str, physics: Physics) -> Controller:
        self.check_mode(mode)
        if mode == "joint_position":
            names = tuple(self.name(j) for j in (*self.joints, "gripper"))
            return ActuatorRangeController(physics.model, names)
        return EndEffectorDeltaController(physics.model, self.ee_config(mode == "ee_delta_planar"))

    def ee_position(self, physics: Physics) -> np.ndarray:
        return physics.data.site_xpos[self._site]

    def set_fingers(self, physics: Physics, opening: float) -> None:
        """Put both fingers ``opening`` metres out (0 closed, 0.04 wide), kinematically."""
        physics.data.qpos[[self._finger, self._finger_r]] = opening

    def features(self) -> dict[str, int]:
        n = len(self.joints)
        return {"joint_pos": n, "joint_vel": n, "gripper": 1, "ee_pos": 3, "ee_vel": 3}

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        data = physics.data
        jac = self._jac
        mujoco.mj_jacSite(physics.model, data, jac, None, self._site)
        return {
            "joint_pos": data.qpos[self._qpos],
            "joint_vel": data.qvel[self._dofs],
            "gripper": data.qpos[self._finger : self._finger + 1] / 0.04,
            "ee_pos": data.site_xpos[self._site],
            "ee_vel": jac @ data.qvel,
        }

    def measured_command(self, control_mode: str) -> tuple[str, tuple[int, ...]] | None:
        if control_mode != "joint_position":
            return None
        return "joint_pos", tuple(range(len(self.joints)))  # the gripper starts at its middle

    def hardware_mapping(self, control_mode: str, control_dt: float) -> HardwareMapping:
        command = (
            "joint_position_target" if control_mode == "joint_position" else "ee_delta_target"
        )
        return HardwareMapping(
            joint_order=(*self.joints, "gripper"),
            joint_units="rad (gripper: m of finger travel)",
            control_rate_hz=1.0 / control_dt,
            command=command,
        )


def place_end_effector(robot: Arm6, physics: Physics, position: np.ndarray) -> None:
    """Kinematically move the arm so its grip site sits at ``position``, gripper down."""
    from workbench.sim.control import solve_ik

    controller = robot._placer  # made once in bind
    controller.reset(physics)  # holds the current (home) orientation
    solve_ik(physics, controller, np.asarray(position, dtype=float))
    physics.data.ctrl[robot._servos] = physics.data.qpos[robot._qpos]
    physics.forward()


ARM7_JOINTS = ("shoulder_yaw", "shoulder_pitch", "upper_roll", "elbow_pitch", "wrist_pitch",
               "wrist_roll", "wrist_tilt")


class Arm7(Arm6):
    """A 7-DoF (Franka-class, redundant) arm: ``arm6`` plus a roll joint in the upper arm.

    Same gripper, control modes and API; differential IK uses all seven joints (damped least
    squares picks the smallest joint motion among the redundant solutions).
    """

    mjcf = asset("robots", "arm", "arm7.xml")
    joints = ARM7_JOINTS
    home = np.array([0.0, 0.5, 0.0, 1.7, 0.94, 0.0, 0.0])
    description = "7-DoF redundant tabletop arm with a parallel gripper"
