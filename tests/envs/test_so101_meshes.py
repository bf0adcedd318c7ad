"""The SO-101 is drawn with light copies of its meshes, collides with the originals."""

from __future__ import annotations

import mujoco
import numpy as np

from robots.so101 import VISUAL_GROUP, model_folder
from robots.so101.visual_meshes import FOLDER, TOLERANCE, deviation
from workbench.envs import make_env
from workbench.sim.render import CameraRenderer


def test_drawn_geoms_use_the_light_meshes_and_colliding_ones_the_originals():
    model = make_env("Push", robot="so101").physics.model
    originals = mujoco.MjModel.from_xml_path(str(model_folder() / "so101_new_calib.xml"))
    faces = {originals.mesh(i).name: originals.mesh_facenum[i] for i in range(originals.nmesh)}
    drawn = colliding = 0
    for g in range(model.ngeom):
        if model.geom_type[g] != mujoco.mjtGeom.mjGEOM_MESH:
            continue
        mesh = model.geom_dataid[g]
        name = model.mesh(mesh).name.removeprefix("robot/")
        if model.geom_group[g] == VISUAL_GROUP:
            drawn += 1
            assert name.endswith("_visual")
            assert model.mesh_facenum[mesh] <= 0.4 * faces[name.removesuffix("_visual")]
        else:
            colliding += 1
            assert model.geom_contype[g] and model.mesh_facenum[mesh] == faces[name], name
    meshes = originals.geom_type == mujoco.mjtGeom.mjGEOM_MESH
    assert (drawn, colliding) == (np.sum(meshes & (originals.geom_group == VISUAL_GROUP)),
                                  np.sum(meshes & (originals.geom_group != VISUAL_GROUP)))


def test_each_light_mesh_keeps_within_half_a_millimetre_of_the_original():
    for original in sorted((model_folder() / "assets").glob("*.stl")):
        assert deviation(original, FOLDER / original.name, points=4000) <= TOLERANCE, original


def _arm_picture(meshdir: str) -> np.ndarray:
    """The wheel's own arm, bent, drawn at 320x240 with the meshes of ``meshdir``."""
    xml = (model_folder() / "so101_new_calib.xml").read_text()
    spec = mujoco.MjSpec.from_string(xml.replace('meshdir="assets"', f'meshdir="{meshdir}"'))
    spec.worldbody.add_camera(name="side", pos=[0.45, -0.35, 0.3], xyaxes=[0.6, 0.8, 0, -0.3,
                                                                          0.2, 0.93])
    model = spec.compile()
    data = mujoco.MjData(model)
    data.qpos[:] = [0.3, -0.6, 0.8, 0.9, 0.4, 0.5]
    mujoco.mj_forward(model, data)
    with CameraRenderer(model, 320, 240) as renderer:
        return renderer.rgb(data, "side").astype(np.int16)


def test_the_light_arm_looks_as_the_original_does():
    original = _arm_picture(str(model_folder() / "assets"))
    light = _arm_picture(str(FOLDER))
    background = original[0, 0]
    arm = np.any(original != background, -1)
    assert 0.05 < arm.mean() < 0.8  # the arm fills part of the picture
    assert np.mean(np.any(light != background, -1) != arm) < 0.003  # the same outline
    assert np.abs(light - original).mean() < 0.5  # and shading (a mesh swapped: 0.9)
