"""The Franka Emika Panda: 7 joints and a two-finger parallel gripper.

The MJCF and meshes come from the ``gymnasium-robotics`` wheel (its Franka Kitchen assets,
Apache-2.0, from Vikash Kumar's franka_sim; joint limits from Franka's published control
parameters), read from the installed package, never downloaded. The workbench renames the
joints as franka_ros does (``panda_joint1``...), drives both fingers from one actuator (a joint
equality, as the real gripper's single motor does), replaces each finger's stack of collision
capsules by one pad so a grasp is judged by one geom per side, and adds a grip site between
the pads and a wrist camera.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mujoco
import numpy as np

from robots import light_meshes
from robots.tabletop import TabletopArm
from workbench.sim.compose import CompositionError

ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
# Grip site 45 cm in front of the base, 15 cm high, fingers down and closing along world y
# (solved offline with the IK below).
HOME = np.array([0.016, -0.031, -0.014, -2.561, -0.012, 0.965, 0.016])
MOUNT = (-0.1, 0.0, 0.0)  # the Panda's top-down reach starts ~30 cm out: sit it back
# franka_sim puts joint 6's zero pi/2 and joint 7's pi/4 away from Franka's (libfranka,
# franka_ros: the convention of the robot's own joint readings); tests/robots compare the
# model's forward kinematics with Franka's published Denavit-Hartenberg parameters.
FRANKA_ZERO = (0.0, 0.0, 0.0, 0.0, 0.0, np.pi / 2, np.pi / 4)
# Franka's published limits of joints 6 and 7, which the model's ranges overstep once moved
# to Franka's zero (the other joints' model ranges lie inside Franka's).
FRANKA_LIMITS = {6: (-0.0175, 3.7525), 7: (-2.8973, 2.8973)}


def model_folder() -> Path:
    """The Franka assets inside the installed ``gymnasium-robotics`` wheel (not imported)."""
    found = importlib.util.find_spec("gymnasium_robotics")
    if found is None or not found.submodule_search_locations:
        raise CompositionError("the Panda model ships in the gymnasium-robotics package: "
                               "pip install 'gymnasium-robotics==1.4.2'")
    root = Path(next(iter(found.submodule_search_locations)))
    return root / "envs" / "assets" / "kitchen_franka" / "franka_assets"


class Panda(TabletopArm):
    description = "Franka Emika Panda: 7 joints and a parallel gripper"
    joints = ARM_JOINTS
    home = HOME
    gripper_joints = ("finger_left", "finger_right")
    gripper_range = (0.0, 0.04)
    gentle_release = 0.75  # 3 cm a finger: clear of the largest cube (5 cm), no shove
    # About a metre tall at home: from the scenes' own views its upper arm is cut off at the top.
    view_back, view_up = 1.25, 0.15
    close_ticks = 14  # its fingers close about 6 mm a tick: 8 ticks left a door's handle loose
    finger_geom_names = ("left_pad", "right_pad")
    mount_offset = MOUNT
    workspace_low = (0.2, -0.45, 0.015)
    workspace_high = (0.75, 0.45, 0.5)
    shoulder = (MOUNT[0], 0.0, 0.333)
    wrist_above_grip = 0.33
    arm_length = 0.68  # upper arm 31.6 cm + forearm 38.4 cm (and 8 cm offsets), less a margin
    joint_speed_limit = 2.175  # rad/s, joints 1-4 (Franka's published limits)
    zero_offsets = FRANKA_ZERO
    # Joint damping was lowered from the kitchen model's by hand and the hand's mass is
    # approximate; the arm's torque control is precise.
    randomization = {"damping": 0.3, "actuator_gain": 0.1, "friction": 0.2, "mass": 0.1,
                     "action_latency": 1}

    @property
    def mjcf(self) -> Path:  # type: ignore[override]
        return model_folder() / "chain.xml"

    def spec(self) -> mujoco.MjSpec:
        folder = model_folder()
        # The shipped files are include fragments of the kitchen scene: assemble a model.
        text = (f'<mujoco model="panda"><include file="{folder}/assets.xml"/>'
                f'<compiler angle="radian" meshdir="{folder}/meshes"/>'
                f'<worldbody><include file="{folder}/chain.xml"/></worldbody>'
                f'<include file="{folder}/actuator.xml"/></mujoco>')
        try:
            spec = mujoco.MjSpec.from_string(text)
        except Exception as exc:
            raise CompositionError(f"cannot assemble the Panda from {folder}: {exc}") from exc
        light_meshes.draw_light(spec, "panda")
        for i, name in enumerate(ARM_JOINTS, start=1):
            spec.joint(f"robot:panda0_joint{i}").name = name
            servo = spec.actuator(f"panda0_joint{i}")
            servo.name, servo.target = name, name
            if i <= 4:  # the kitchen's 100 N m s/rad lags a 25 Hz controller by 3 ticks
                spec.joint(name).damping = [40.0, 0.0, 0.0]
            if i in FRANKA_LIMITS:  # the model's range, inside Franka's limits
                low, high = np.asarray(FRANKA_LIMITS[i]) - FRANKA_ZERO[i - 1]
                model_low, model_high = spec.joint(name).range
                spec.joint(name).range = [max(low, model_low), min(high, model_high)]
        for side, number in (("left", 1), ("right", 2)):
            spec.joint(f"robot:panda0_finger_joint{number}").name = f"finger_{side}"
            finger = spec.body(f"panda0_{side}finger")
            for geom in finger.geoms:
                if geom.type != mujoco.mjtGeom.mjGEOM_MESH:
                    geom.contype, geom.conaffinity = 0, 0
            inward = 1.0 if side == "left" else -1.0  # the pad's inner face at the finger's y 0
            finger.add_geom(name=f"{side}_pad", type=mujoco.mjtGeom.mjGEOM_BOX,
                            size=[0.009, 0.004, 0.02], pos=[0.0, inward * 0.004, 0.07],
                            friction=[1.5, 0.02, 0.001], rgba=[0.3, 0.3, 0.3, 1], mass=0.0)
        gripper = spec.actuator("r_gripper_finger_joint")
        gripper.name, gripper.target = "gripper", "finger_left"
        spec.delete(spec.actuator("l_gripper_finger_joint"))
        spec.add_equality(type=mujoco.mjtEq.mjEQ_JOINT, name1="finger_left",
                          name2="finger_right", objtype=mujoco.mjtObj.mjOBJ_JOINT,
                          data=[0, 1] + [0] * 10)
        for body in spec.bodies[1:]:  # Franka's controller cancels gravity on the real arm
            body.gravcomp = 1.0
        for actuator in spec.actuators:  # the kitchen's own bookkeeping, which arenas lack
            actuator.userdata = []
        spec.nuser_actuator = -1
        hand = spec.body("panda0_link7")
        hand.add_site(name="grip_site", pos=[0, 0, 0.1654 + 0.07], euler=[0, 0, -0.785398],
                      size=[0.008, 0, 0], rgba=[1, 0.5, 0, 0.6], group=4)
        hand.add_camera(name="wrist_cam", pos=[0.07, 0.0, 0.12], fovy=70,
                        euler=[0.0, -0.5, -1.5708])
        return spec
