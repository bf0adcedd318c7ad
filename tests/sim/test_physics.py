"""Physics wrapper, composition and rendering on tiny inline models and the real scenes."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from workbench.envs import make_env
from workbench.sim.compose import CompositionError, compose, load_spec
from workbench.sim.physics import Physics, PhysicsDivergence
from workbench.sim.pointcloud import depth_to_points, fuse_point_cloud
from workbench.sim.render import CameraRenderer

BALL = """
<mujoco>
  <worldbody>
    <geom type="plane" size="1 1 0.1"/>
    <camera name="eye" pos="0 -1 0.5" xyaxes="1 0 0 0 0.2 1"/>
    <body name="ball" pos="0 0 0.5">
      <freejoint/><geom type="sphere" size="0.05" rgba="1 0 0 1"/>
    </body>
  </worldbody>
</mujoco>
"""


def test_snapshot_restore_continues_bit_for_bit():
    physics = Physics(mujoco.MjModel.from_xml_string(BALL))
    physics.data.qvel[:3] = (0.3, -0.2, 1.0)
    physics.step(50)
    state = physics.snapshot()
    physics.step(100)
    first = physics.data.qpos.copy()
    physics.restore(state)
    physics.step(100)
    np.testing.assert_array_equal(physics.data.qpos, first)


def test_restore_rejects_a_state_from_another_model():
    physics = Physics(mujoco.MjModel.from_xml_string(BALL))
    with pytest.raises(ValueError, match="another scene or robot"):
        physics.restore(np.zeros(3))


def test_divergence_is_detected_even_though_mujoco_resets_the_data():
    physics = Physics(mujoco.MjModel.from_xml_string(BALL))
    physics.data.qvel[0] = np.nan
    with pytest.raises(PhysicsDivergence, match="diverged"):
        physics.step(1)


def test_diverging_env_ends_the_episode_with_finite_observations():
    env = make_env("Push")
    env.reset(seed=0)
    env.physics.data.qvel[:] = 1e30  # blows up on the next step
    obs, _, terminated, truncated, info = env.step(np.zeros(env.action_space.shape))
    assert terminated and not truncated and info["diverged"]
    assert np.isfinite(obs).all()
    obs, _ = env.reset(seed=1)  # and the env is usable again
    assert np.isfinite(obs).all()


def test_compose_names_the_missing_mount_site():
    arena = mujoco.MjSpec.from_string("<mujoco><worldbody/></mujoco>")
    robot = mujoco.MjSpec.from_string(BALL)
    with pytest.raises(CompositionError, match="no site 'robot_mount'"):
        compose(arena, robot)


def test_load_spec_reports_a_missing_or_broken_file(tmp_path):
    with pytest.raises(CompositionError, match="not found"):
        load_spec(tmp_path / "nope.xml")
    broken = tmp_path / "broken.xml"
    broken.write_text("<mujoco><worldbody><geom type='sphere'/></mujoco>")
    with pytest.raises(CompositionError, match="cannot parse"):
        load_spec(broken)


def test_compose_prefixes_robot_names():
    arena = mujoco.MjSpec.from_string(
        "<mujoco><worldbody><site name='robot_mount' pos='0 0 1'/></worldbody></mujoco>"
    )
    robot = mujoco.MjSpec.from_string(BALL)
    model = compose(arena, robot).compile()
    assert model.body("robot/ball").id > 0
    assert model.camera("robot/eye").id >= 0


def test_renderer_reuses_one_context_for_rgb_depth_and_segmentation():
    model = mujoco.MjModel.from_xml_string(BALL)
    physics = Physics(model)
    with CameraRenderer(model, 64, 48) as renderer:
        rgb = renderer.rgb(physics.data, "eye")
        depth = renderer.depth(physics.data, "eye")
        seg = renderer.segmentation(physics.data, "eye")
        rgb_again = renderer.rgb(physics.data, "eye")
    assert rgb.shape == (48, 64, 3) and rgb.std() > 1.0  # not a blank image
    np.testing.assert_array_equal(rgb, rgb_again)
    assert depth.shape == (48, 64) and np.isfinite(depth).all() and (depth > 0).all()
    ball_geom = model.geom(1).id
    assert (seg[..., 0] == ball_geom).any()  # the ball is seen


def test_unknown_camera_lists_the_cameras():
    model = mujoco.MjModel.from_xml_string(BALL)
    with CameraRenderer(model, 32, 32) as renderer, pytest.raises(KeyError, match="eye"):
        renderer.rgb(Physics(model).data, "nope")


def test_point_cloud_from_depth_lands_on_the_scene():
    model = mujoco.MjModel.from_xml_string(BALL)
    physics = Physics(model)
    with CameraRenderer(model, 64, 64) as renderer:
        depth = renderer.depth(physics.data, "eye")
    points = depth_to_points(model, physics.data, "eye", depth)
    floor = points[np.abs(points[:, 2]) < 0.01]
    assert len(floor) > 0.5 * len(points)  # most pixels see the floor plane at z = 0
    near_ball = np.linalg.norm(points - [0, 0, 0.5], axis=1) < 0.06
    assert near_ball.any()  # and some see the ball's surface
    cropped = fuse_point_cloud([points], bounds=((-0.2, -0.2, 0.3), (0.2, 0.2, 0.7)),
                               voxel_size=0.01)
    assert len(cropped) > 0 and np.all(cropped[:, 2] > 0.3)
