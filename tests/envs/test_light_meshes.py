"""The SO-101 and the Panda are drawn with light copies of their meshes and collide with the
originals (robots.light_meshes)."""

from __future__ import annotations

import hashlib

import mujoco
import numpy as np
import pytest

from robots import light_meshes
from robots.light_meshes import ROBOTS, SHARES, TOLERANCE, deviation, drawn_originals, folder
from workbench.envs import make_env
from workbench.sim.render import CameraRenderer


def _mesh_geoms(model: mujoco.MjModel) -> list[tuple[bool, str, int]]:
    """(draws only, mesh name, its triangles) of each mesh geom."""
    return [(not (model.geom_contype[g] or model.geom_conaffinity[g]),
             model.mesh(model.geom_dataid[g]).name, int(model.mesh_facenum[model.geom_dataid[g]]))
            for g in range(model.ngeom) if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH]


KEPT = {"so101": set(), "panda": {"robot/finger_viz"}}  # drawn meshes with no light copy


@pytest.mark.parametrize("robot", ROBOTS)
def test_drawn_geoms_use_the_light_meshes_and_colliding_ones_the_originals(monkeypatch, robot):
    light = _mesh_geoms(make_env("Push", robot=robot).physics.model)
    with monkeypatch.context() as patch:
        patch.setattr(light_meshes, "draw_light", lambda spec, robot: None)
        wheels = _mesh_geoms(make_env("Push", robot=robot).physics.model)
    assert len(light) == len(wheels)
    lightened = 0
    for (drawn, name, faces), (_, original, original_faces) in zip(light, wheels, strict=True):
        if drawn and original not in KEPT[robot]:
            assert name == f"{original}_light" and faces <= SHARES[-1] * original_faces
            lightened += 1
        else:
            assert (name, faces) == (original, original_faces)
    assert lightened >= len(drawn_originals(robot))


def _rollout(scene: str, robot: str) -> str:
    """A digest of the joint positions over 300 steps of random actions (contacts included)."""
    env = make_env(scene, robot=robot)
    env.reset(seed=3)
    rng, digest = np.random.default_rng(0), hashlib.sha256()
    for _ in range(300):
        *_, terminated, truncated, _ = env.step(rng.uniform(-1, 1, env.action_space.shape))
        digest.update(env.physics.data.qpos.tobytes())
        if terminated or truncated:
            env.reset(seed=4)
    env.close()
    return digest.hexdigest()


@pytest.mark.parametrize("robot", ROBOTS)
def test_the_physics_is_the_same_to_the_bit(monkeypatch, robot):
    light = _rollout("PickPlace", robot)
    monkeypatch.setattr(light_meshes, "draw_light", lambda spec, robot: None)
    assert _rollout("PickPlace", robot) == light


@pytest.mark.parametrize("robot", ROBOTS)
def test_each_light_mesh_keeps_within_its_robots_tolerance(robot):
    for original in drawn_originals(robot):
        strayed = deviation(original, folder(robot) / original.name, 4000)
        assert strayed <= TOLERANCE[robot], original


# Where each arm is looked at from (the body, an offset from it, the distance): the SO-101's
# shoulder from 45 cm, the Panda's elbow from 90 cm, so that the arm fills the picture.
VIEWS = {"so101": ("robot/shoulder", (0.05, 0.0, 0.05), 0.45),
         "panda": ("robot/panda0_link4", (0.0, 0.1, -0.2), 0.9)}


def _picture(robot: str) -> np.ndarray:
    """The arm in Push, its hand moved forward and aside (320x240)."""
    env = make_env("Push", robot=robot)
    env.reset(seed=1)
    for _ in range(15):
        env.step(np.array([1.0, -1.0]))
    body, offset, distance = VIEWS[robot]
    camera = mujoco.MjvCamera()
    camera.lookat[:] = env.physics.data.body(body).xpos + offset
    camera.distance, camera.azimuth, camera.elevation = distance, 150.0, -25.0
    with CameraRenderer(env.physics.model, 320, 240) as renderer:
        picture = renderer.rgb(env.physics.data, camera).astype(np.int16)
    env.close()
    return picture


@pytest.mark.parametrize("robot", ROBOTS)
def test_the_light_arm_looks_as_the_original_does(monkeypatch, robot):
    """Shading differs a little on the decimated faces; an edge moves nowhere. (With one light
    mesh of the SO-101 swapped for another: 0.6% of the pixels off by over 60 levels, a mean
    of 0.9.)"""
    light = _picture(robot)
    monkeypatch.setattr(light_meshes, "draw_light", lambda spec, robot: None)
    original = _picture(robot)
    difference = np.abs(light - original)
    assert np.mean(difference.max(-1) > 60) < 0.001  # here 0.02% (SO-101), 0.03% (Panda)
    assert difference.mean() < 0.5  # here 0.28 and 0.38 of 255
