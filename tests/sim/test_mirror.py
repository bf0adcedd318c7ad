"""The declared mirror symmetries are the simulation's: mirroring the simulated state itself
(every joint, free body and mocap target through y = 0) changes the observation exactly as the
scene's and robot's declared signs say."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from workbench.envs import make_env
from workbench.sim.mirror import LATERAL, hinge_mirror_signs, joined_signs

ROBOT_JOINTS = {"arm6": 6, "arm7": 7, "panda": 7}


def mirror_simulation(env) -> None:
    """Mirror ``env``'s simulated state through y = 0 in place: the arm's hinges by their
    declared signs, the fingers as they are (both open alike), free bodies and mocap targets
    by the reflection itself."""
    model, data = env.physics.model, env.physics.data
    robot = env.robot
    signs = np.array(robot.mirror()["joint_pos"])
    data.qpos[robot._qpos] *= signs
    data.qvel[robot._dofs] *= signs
    for j in range(model.njnt):
        kind, q, v = model.jnt_type[j], model.jnt_qposadr[j], model.jnt_dofadr[j]
        if kind == mujoco.mjtJoint.mjJNT_FREE:
            data.qpos[q : q + 3] *= LATERAL
            data.qpos[q + 3 : q + 7] *= (1.0, -1.0, 1.0, -1.0)  # a reflected rotation
            data.qvel[v : v + 3] *= LATERAL
            data.qvel[v + 3 : v + 6] *= (-1.0, 1.0, -1.0)  # angular velocity is axial
        elif model.joint(j).name.startswith(robot.prefix):
            continue
        else:
            raise AssertionError(f"no mirror for joint {model.joint(j).name}")
    data.mocap_pos[:] *= LATERAL
    data.mocap_quat[:] *= (1.0, -1.0, 1.0, -1.0)
    env.physics.forward()


@pytest.mark.parametrize(("scene", "robot"), [
    ("Reach", "arm6"), ("Push", "arm7"), ("PushChoice", "arm6"), ("PickPlace", "arm6"),
    ("Stack", "panda"), ("Reach", "panda")])
def test_mirroring_the_simulation_changes_the_observation_by_the_declared_signs(scene, robot):
    env = make_env(scene, robot=robot)
    signs = np.array(env.mirror())
    assert len(signs) == sum(env.features.values())
    assert tuple(signs[: ROBOT_JOINTS[robot]]) == env.robot.mirror()["joint_pos"]
    env.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(6):  # moving: the velocities are mirrored too
        env.step(rng.uniform(-1, 1, env.action_space.shape))
    before = env.state_vector()
    # The arm is mirrored by its declared joint signs, so joint_pos and joint_vel agree by
    # construction; what checks those signs is ee_pos and ee_vel, which MuJoCo computes from
    # the joints (a wrong sign puts the hand elsewhere), and the task's features.
    mirror_simulation(env)
    after = env.state_vector()
    assert np.abs(before * (signs < 0)).max() > 0.01  # the check is not about zeros
    # The Panda's shipped model is a tenth of a millimetre off symmetric.
    np.testing.assert_allclose(after, before * signs, atol=1e-5 if robot != "panda" else 3e-3)
    env.close()


def test_a_chain_off_the_plane_or_a_scene_without_symmetry_declares_no_mirror():
    so101 = make_env("Reach", robot="so101")  # its servos sit 18 mm to one side
    assert so101.robot.mirror() is None and so101.mirror() is None
    drawer = make_env("DrawerOpen")  # the drawer is on one side: no mirror image of it
    assert drawer.robot.mirror() is not None and drawer.mirror() is None
    walker = make_env("Walk")
    assert walker.mirror() is None
    # The arm's base turned off the plane breaks it too (a yaw of 0.3 rad at the first joint).
    model = make_env("Reach").physics.model
    names = [f"robot/{j}" for j in ("shoulder_yaw", "shoulder_pitch", "elbow_pitch",
                                    "wrist_pitch", "wrist_roll", "wrist_tilt")]
    assert hinge_mirror_signs(model, names, "robot/grip_site") == (-1, 1, 1, 1, -1, -1)
    model.body_quat[model.body("robot/base").id] = (np.cos(0.15), 0, 0, np.sin(0.15))
    assert hinge_mirror_signs(model, names, "robot/grip_site") is None
    for env in (so101, drawer, walker):
        env.close()


def test_signs_are_joined_in_feature_order_and_must_cover_every_feature():
    features = {"a": 1, "b": 3}
    assert joined_signs(features, {"b": LATERAL, "a": (-1,)}) == (-1, 1, -1, 1)
    with pytest.raises(ValueError, match=r"missing for \['a'\], of the wrong size for \['b'\]"):
        joined_signs(features, {"b": (1, 1)})
