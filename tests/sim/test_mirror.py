"""The declared mirror symmetries are the simulation's: mirroring the simulated state itself
(every joint, free body and mocap target through y = 0) changes the observation exactly as the
scene's and robot's declared mirror says, left and right legs swapped included."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from workbench.envs import make_env
from workbench.sim.mirror import LATERAL, Mirror, hinge_mirror, joined

QUAT_IMAGE = (1.0, -1.0, 1.0, -1.0)  # a rotation's mirror image, (w, x, y, z)
ANGULAR_IMAGE = (-1.0, 1.0, -1.0)  # an angular velocity's: it is axial


def robot_joints(env) -> tuple[list[int], Mirror]:
    """The robot's mirrored hinges (model joint ids, in the order of their mirror) and it."""
    robot, model = env.robot, env.physics.model
    mirror = robot.joints_mirror(model)
    assert mirror is not None
    return [model.joint(robot.name(n)).id for n in robot.mirror_joints()], mirror


def mirror_simulation(env) -> None:
    """Mirror ``env``'s simulated state through y = 0 in place: the robot's hinges by its
    declared mirror (a joint's angle moves to its twin), the fingers as they are (both open
    alike), free bodies, planar roots and mocap targets by the reflection itself."""
    model, data = env.physics.model, env.physics.data
    joints, mirror = robot_joints(env)
    qpos, dofs = model.jnt_qposadr[joints], model.jnt_dofadr[joints]
    data.qpos[qpos] = mirror.apply(data.qpos[qpos])
    data.qvel[dofs] = mirror.apply(data.qvel[dofs])
    for j in range(model.njnt):
        kind, q, v = model.jnt_type[j], model.jnt_qposadr[j], model.jnt_dofadr[j]
        name = model.joint(j).name
        if kind == mujoco.mjtJoint.mjJNT_FREE:
            data.qpos[q : q + 3] *= LATERAL
            data.qpos[q + 3 : q + 7] *= QUAT_IMAGE
            data.qvel[v : v + 3] *= LATERAL
            data.qvel[v + 3 : v + 6] *= ANGULAR_IMAGE  # in the body's frame, as the image's
        elif j in joints or name.startswith(env.robot.prefix):
            # the robot's: mirrored above, a finger, or a planar root (x, z and the pitch
            # about y all stay)
            assert j in joints or "root" in name or "finger" in name or "gripper" in name, name
        else:
            raise AssertionError(f"no mirror for joint {name}")
    data.mocap_pos[:] *= LATERAL
    data.mocap_quat[:] *= QUAT_IMAGE
    env.physics.forward()


@pytest.mark.parametrize(("scene", "robot"), [
    ("Reach", "arm6"), ("Push", "arm7"), ("PushChoice", "arm6"), ("PickPlace", "arm6"),
    ("Stack", "panda"), ("Reach", "panda"), ("Walk", None), ("QuadrupedWalk", None),
    ("HumanoidWalk", None)])
def test_mirroring_the_simulation_changes_the_observation_as_declared(scene, robot):
    env = make_env(scene, robot=robot)
    mirror = env.mirror()
    assert mirror is not None and len(mirror) == sum(env.features.values())
    env.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(6):  # moving: the velocities are mirrored too
        env.step(rng.uniform(-1, 1, env.action_space.shape))
    before = env.state_vector()
    # The robot is mirrored by its declared joint mirror, so its joint angles agree by
    # construction; what checks that mirror is what MuJoCo computes from the joints (the
    # hand's place and speed, each limb's orientation, the torso's axes and velocities) and
    # the task's features.
    mirror_simulation(env)
    after = env.state_vector()
    moved = np.abs(mirror.apply(before) - before)
    assert moved.max() > 0.01  # the check is not about zeros or numbers that stay
    # The Panda's shipped model is a tenth of a millimetre off symmetric.
    np.testing.assert_allclose(after, mirror.apply(before),
                               atol=1e-5 if robot != "panda" else 3e-3)
    env.close()


@pytest.mark.parametrize("scene", ["CheetahRun", "HopperStand"])
def test_a_planar_robot_is_its_own_mirror_image_and_its_velocity_is_in_its_torso_frame(scene):
    """Moving in its plane, a planar robot's state is its own mirror image; and its torso's
    velocity, turned by the torso's axes, is its forward speed (before 2026-12-07 the velocity
    was read in the torso's inertial frame, whose axes these robots' inertia permutes)."""
    env = make_env(scene)
    env.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(10):
        env.step(rng.uniform(-1, 1, env.action_space.shape))
    state = env.state_vector()
    np.testing.assert_allclose(env.mirror().apply(state), state, atol=1e-6)
    parts = env.robot.observe(env.physics)
    axes, velocity = parts["orientation"], parts["velocity"]
    forward = axes[0] * velocity[3] + axes[3] * velocity[5]  # the x row of R @ v (planar)
    assert abs(env.robot.forward_velocity(env.physics)) > 0.01  # it moves
    assert forward == pytest.approx(env.robot.forward_velocity(env.physics), abs=1e-9)
    assert velocity[1] != 0.0 and velocity[0] == velocity[2] == velocity[4] == 0.0  # pitch only
    env.close()


def test_left_and_right_legs_swap_and_axes_decide_the_signs():
    walker, humanoid = make_env("Walk"), make_env("HumanoidWalk")
    _, legs = robot_joints(walker)
    assert legs == Mirror((1.0,) * 6, (3, 4, 5, 0, 1, 2))  # right hip, knee, ankle <-> left
    _, body = robot_joints(humanoid)
    names = humanoid.robot.joint_names
    twin = {names[i]: names[j] for i, j in enumerate(body.order)}
    assert twin["right_knee"] == "left_knee" and twin["abdomen_z"] == "abdomen_z"
    assert body.signs[names.index("abdomen_z")] == -1.0  # a yaw turns the other way
    assert body.signs[names.index("abdomen_y")] == 1.0  # a pitch stays
    cheetah = make_env("CheetahRun")  # planar, on the plane: each joint its own twin
    assert robot_joints(cheetah)[1].order == ()
    for env in (walker, humanoid, cheetah):
        env.close()


def test_a_chain_off_the_plane_or_a_scene_without_symmetry_declares_no_mirror():
    so101 = make_env("Reach", robot="so101")  # its servos sit 18 mm to one side
    assert so101.robot.mirror() is None and so101.mirror() is None
    drawer = make_env("DrawerOpen")  # the drawer is on one side: no mirror image of it
    assert drawer.robot.mirror() is not None and drawer.mirror() is None
    # The arm's base turned off the plane breaks it too (a yaw of 0.3 rad at the first joint).
    model = make_env("Reach").physics.model
    names = [f"robot/{j}" for j in ("shoulder_yaw", "shoulder_pitch", "elbow_pitch",
                                    "wrist_pitch", "wrist_roll", "wrist_tilt")]
    assert hinge_mirror(model, names, ["robot/grip_site"]) == Mirror((-1, 1, 1, 1, -1, -1))
    model.body_quat[model.body("robot/base").id] = (np.cos(0.15), 0, 0, np.sin(0.15))
    assert hinge_mirror(model, names, ["robot/grip_site"]) is None
    # A walker with one thigh longer than the other has no mirror image either.
    walker = make_env("Walk")
    model = walker.physics.model
    model.body_pos[model.body("robot/left_leg").id, 2] -= 0.05
    assert walker.robot.joints_mirror(model) is None
    for env in (so101, drawer, walker):
        env.close()


def test_mirrors_are_joined_in_feature_order_and_must_cover_every_feature():
    features = {"a": 1, "b": 3, "c": 2}
    parts = {"b": Mirror(LATERAL), "a": Mirror((-1,)), "c": Mirror((1, 1), (1, 0))}
    assert joined(features, parts) == Mirror((-1, 1, -1, 1, 1, 1), (0, 1, 2, 3, 5, 4))
    assert joined({"a": 1, "b": 3}, parts).order == ()  # nothing swapped: no order
    with pytest.raises(ValueError, match=r"missing for \['a'\], of the wrong size for \['b'\]"):
        joined({"a": 1, "b": 3}, {"b": Mirror((1, 1))})
    with pytest.raises(ValueError, match="not an arrangement"):
        Mirror((1, 1), (1, 1))
