"""The SO-101 is drawn with light copies of its meshes and collides with the originals
(robots.light_meshes)."""

from __future__ import annotations

import hashlib

import mujoco
import numpy as np

from robots import light_meshes
from robots.light_meshes import TOLERANCE, deviation, drawn_originals, folder
from workbench.envs import make_env
from workbench.sim.render import CameraRenderer


def _mesh_geoms(model: mujoco.MjModel) -> list[tuple[bool, str, int]]:
    """(draws only, mesh name, its triangles) of each mesh geom."""
    return [(not (model.geom_contype[g] or model.geom_conaffinity[g]),
             model.mesh(model.geom_dataid[g]).name, int(model.mesh_facenum[model.geom_dataid[g]]))
            for g in range(model.ngeom) if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH]


def test_drawn_geoms_use_the_light_meshes_and_colliding_ones_the_originals(monkeypatch):
    light = _mesh_geoms(make_env("Push", robot="so101").physics.model)
    with monkeypatch.context() as patch:
        patch.setattr(light_meshes, "draw_light", lambda spec, robot: None)
        wheels = _mesh_geoms(make_env("Push", robot="so101").physics.model)
    assert len(light) == len(wheels) and any(drawn for drawn, *_ in light)
    for (drawn, name, faces), (_, original, original_faces) in zip(light, wheels, strict=True):
        if drawn:
            assert name == f"{original}_light" and faces <= 0.4 * original_faces
        else:
            assert (name, faces) == (original, original_faces)


def _rollout(scene: str) -> str:
    """A digest of the joint positions over 300 steps of random actions (contacts included)."""
    env = make_env(scene, robot="so101")
    env.reset(seed=3)
    rng, digest = np.random.default_rng(0), hashlib.sha256()
    for _ in range(300):
        *_, terminated, truncated, _ = env.step(rng.uniform(-1, 1, env.action_space.shape))
        digest.update(env.physics.data.qpos.tobytes())
        if terminated or truncated:
            env.reset(seed=4)
    env.close()
    return digest.hexdigest()


def test_the_physics_is_the_same_to_the_bit(monkeypatch):
    light = _rollout("PickPlace")
    monkeypatch.setattr(light_meshes, "draw_light", lambda spec, robot: None)
    assert _rollout("PickPlace") == light


def test_each_light_mesh_keeps_within_half_a_millimetre_of_the_original():
    for robot, originals in drawn_originals().items():
        for original in originals:
            assert deviation(original, folder(robot) / original.name, 4000) <= TOLERANCE, \
                original


def _picture() -> np.ndarray:
    """The SO-101 in Push, its hand moved forward and aside, from 45 cm away (320x240)."""
    env = make_env("Push", robot="so101")
    env.reset(seed=1)
    for _ in range(15):
        env.step(np.array([1.0, -1.0]))
    camera = mujoco.MjvCamera()
    camera.lookat[:] = env.physics.data.body("robot/shoulder").xpos + [0.05, 0.0, 0.05]
    camera.distance, camera.azimuth, camera.elevation = 0.45, 150.0, -25.0
    with CameraRenderer(env.physics.model, 320, 240) as renderer:
        picture = renderer.rgb(env.physics.data, camera).astype(np.int16)
    env.close()
    return picture


def test_the_light_arm_looks_as_the_original_does(monkeypatch):
    """Shading differs a little on the decimated faces; an edge moves nowhere. (With one light
    mesh swapped for another: 0.6% of the pixels off by over 60 levels, a mean of 0.9.)"""
    light = _picture()
    monkeypatch.setattr(light_meshes, "draw_light", lambda spec, robot: None)
    original = _picture()
    difference = np.abs(light - original)
    assert np.mean(difference.max(-1) > 60) < 0.001  # here 0.02%
    assert difference.mean() < 0.5  # here 0.28 of 255
