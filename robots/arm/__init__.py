"""A 6-DoF tabletop arm with a parallel gripper (MJCF written for the workbench, Apache-2.0),
and its 7-DoF variant. Control modes and how scenes lay out for an arm: :mod:`robots.tabletop`.
"""

from __future__ import annotations

import mujoco
import numpy as np

from robots.tabletop import TabletopArm
from workbench.assets import asset
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


class Arm6(TabletopArm):
    mjcf = asset("robots", "arm", "arm6.xml")
    joints: tuple[str, ...] = ARM_JOINTS
    home: np.ndarray = HOME
    gripper_joints = ("finger_left", "finger_right")
    gripper_range = (0.0, 0.04)
    finger_geom_names = ("finger_left_geom", "finger_right_geom")
    description = "6-DoF tabletop arm with a parallel gripper"
    workspace_low = (0.15, -0.45, 0.015)
    workspace_high = (0.7, 0.45, 0.5)
    shoulder = (0.0, 0.0, 0.17)
    wrist_above_grip = 0.23
    arm_length = 0.5  # upper arm + forearm: 56 cm, less a margin

    def prepare_for_grasping(self, physics: Physics, grip_kp: float = 800.0) -> None:
        """Critically damp the arm's servos (MuJoCo's ``dampratio="1"``) and stiffen the grip.

        Undamped servos ring at about 12 Hz when the hand stops and a 300 N/m grip lets a 4 cm
        cube slip, both of which shake a grasp loose; Push keeps the plain servos its PPO
        budgets were measured with. The velocity gains come from compiling this robot's own
        MJCF with the damping ratio set.
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
