"""The simulated Panda speaks Franka's joint convention at every hardware boundary: its forward
kinematics, read through the robot's zero offsets, are those of Franka's published modified
Denavit-Hartenberg parameters (Franka's documentation, "Robot and interface specifications"),
and the bundle's joint ranges lie inside Franka's published joint limits."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from workbench.envs import make_env

# (a, d, alpha) of joints 1-7 (Craig's convention), then the flange 0.107 m along joint 7's axis.
FRANKA_DH = [(0.0, 0.333, 0.0), (0.0, 0.0, -np.pi / 2), (0.0, 0.316, np.pi / 2),
             (0.0825, 0.0, np.pi / 2), (-0.0825, 0.384, -np.pi / 2), (0.0, 0.0, np.pi / 2),
             (0.088, 0.0, np.pi / 2)]
FLANGE = 0.107
HAND_YAW = -np.pi / 4  # franka_hand sits on the flange turned -45 degrees about its axis
FRANKA_LIMITS = [(-2.8973, 2.8973), (-1.7628, 1.7628), (-2.8973, 2.8973), (-3.0718, -0.0698),
                 (-2.8973, 2.8973), (-0.0175, 3.7525), (-2.8973, 2.8973)]
READY = np.array([0.0, -np.pi / 4, 0.0, -3 * np.pi / 4, 0.0, np.pi / 2, np.pi / 4])


def _transform(rotation_x: float, a: float, theta: float, d: float) -> np.ndarray:
    cx, sx, ct, st = np.cos(rotation_x), np.sin(rotation_x), np.cos(theta), np.sin(theta)
    rot_x = np.array([[1, 0, 0, 0], [0, cx, -sx, 0], [0, sx, cx, 0], [0, 0, 0, 1]])
    rot_z = np.array([[ct, -st, 0, 0], [st, ct, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    shift_x, shift_z = np.eye(4), np.eye(4)
    shift_x[0, 3], shift_z[2, 3] = a, d
    return rot_x @ shift_x @ rot_z @ shift_z


def franka_hand(q: np.ndarray) -> np.ndarray:
    """The hand frame in the base frame, from Franka's parameters (q in Franka's convention)."""
    pose = np.eye(4)
    for (a, d, alpha), theta in zip(FRANKA_DH, q, strict=True):
        pose = pose @ _transform(alpha, a, theta, d)
    return pose @ _transform(0.0, 0.0, HAND_YAW, FLANGE)


@pytest.fixture(scope="module")
def panda():
    env = make_env("Reach", robot="panda", control_mode="joint_position")
    env.reset(seed=0)
    yield env
    env.close()


def _simulated_hand(env, hardware_q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flange position and finger axis in the arm's base frame, with the arm set through the
    robot's hardware boundary to ``hardware_q`` (Franka's convention)."""
    physics, robot = env.physics, env.robot
    robot.set_hardware_positions(physics, np.append(hardware_q, 0.0), np.zeros(8))
    mujoco.mj_kinematics(physics.model, physics.data)
    data, model = physics.data, physics.model
    base = data.body(robot.name("panda0_link0"))
    rotation = base.xmat.reshape(3, 3)
    flange = data.body(robot.name("panda0_link7")).xpos - base.xpos
    finger_axis = data.xaxis[model.joint(robot.name("finger_left")).id]
    return rotation.T @ flange, rotation.T @ finger_axis


def test_the_hardware_angles_are_frankas(panda):
    rng = np.random.default_rng(7)
    limits = np.array(FRANKA_LIMITS)
    for q in [READY, *rng.uniform(limits[:, 0], limits[:, 1], (25, 7))]:
        flange, finger_axis = _simulated_hand(panda, q)
        hand = franka_hand(q)
        # link7's origin is joint 7's frame; the flange lies FLANGE further along its axis
        np.testing.assert_allclose(flange, (hand @ _transform(0.0, 0.0, 0.0, -FLANGE))[:3, 3],
                                   atol=5e-4)
        # the fingers close along the hand's y axis (either sign: the hand is symmetric)
        assert abs(hand[:3, 1] @ finger_axis) == pytest.approx(1.0, abs=1e-5)


def test_positions_read_back_as_written_and_the_ranges_are_inside_frankas(panda):
    physics, robot = panda.physics, panda.robot
    robot.set_hardware_positions(physics, np.append(READY, 0.02), np.zeros(8))
    np.testing.assert_allclose(robot.hardware_positions(physics), np.append(READY, 0.02))
    hardware = panda.contract()["hardware"]
    ranges = np.array(hardware["joint_ranges"][:7])
    limits = np.array(FRANKA_LIMITS)
    assert (ranges[:, 0] >= limits[:, 0] - 1e-9).all() and (ranges[:, 1] <= limits[:, 1] + 1e-9
                                                            ).all()
    assert hardware["zero_offsets"][5:7] == pytest.approx([np.pi / 2, np.pi / 4])
    assert hardware["directions"] == [1] * 8
    # Franka's ready pose is inside the simulated arm's limits
    assert ((READY >= ranges[:, 0]) & (READY <= ranges[:, 1])).all()


def test_the_so101_and_the_nominal_arm_keep_their_models_zero():
    for robot in ("so101", "arm7"):
        env = make_env("Reach", robot=robot, control_mode="joint_position")
        env.reset(seed=0)
        hardware = env.contract()["hardware"]
        assert hardware["zero_offsets"] == [0.0] * len(hardware["joint_order"])
        joints = env.robot.hardware_positions(env.physics)
        model_angles = [env.physics.data.joint(env.robot.name(j)).qpos[0]
                        for j in env.robot.joints]
        np.testing.assert_array_equal(joints[:-1], model_angles)
        env.close()
