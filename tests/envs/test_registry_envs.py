"""Every registered scene, through gymnasium: API conformance, determinism, finite values."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import workbench
from workbench.registry import SCENES, UnknownEntryError

ENV_IDS = workbench.register_envs(include_dm_control=False)  # the suite: test_dm_control.py


def test_every_scene_is_registered_with_gymnasium():
    assert ENV_IDS == [f"workbench/{name}-v0" for name in SCENES.names()]
    assert {"workbench/Push-v0", "workbench/Walk-v0"} <= set(gym.registry)


def test_unknown_scene_names_the_known_ones():
    with pytest.raises(UnknownEntryError, match="known scenes: .*Push.*Walk"):
        SCENES.load("Pusj")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def rollout(env_id: str, seed: int, steps: int = 40, **kwargs):
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    observations, rewards, infos = [obs], [], [info]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        if terminated or truncated:
            obs, info = env.reset()
    env.close()
    return observations, np.array(rewards), infos


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_gives_identical_rollouts(env_id):
    obs_a, rew_a, _ = rollout(env_id, seed=7)
    obs_b, rew_b, _ = rollout(env_id, seed=7)
    np.testing.assert_array_equal(np.stack(obs_a), np.stack(obs_b))
    np.testing.assert_array_equal(rew_a, rew_b)
    obs_c, _, _ = rollout(env_id, seed=8)
    assert not np.array_equal(np.stack(obs_a), np.stack(obs_c))  # the seed matters


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observations_finite_and_ground_truth_in_range(env_id):
    observations, rewards, infos = rollout(env_id, seed=3, steps=60, difficulty=1.0)
    assert np.isfinite(np.stack(observations)).all()
    weights = gym.make(env_id).unwrapped.task.reference_weights
    assert np.all(rewards >= 0) and np.all(rewards <= sum(weights.values()) + 1e-9)
    for info in infos:
        assert 0.0 <= info["progress"] <= 1.0
        assert isinstance(info["success"], bool)
        assert all(0.0 <= info[f"ref/{k}"] <= 1.0 for k in weights)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pixel_observations_from_every_scene_camera(env_id):
    env = gym.make(env_id, obs_mode="pixels", image_size=48, depth=True)
    obs, _ = env.reset(seed=0)
    cameras = env.unwrapped.cameras
    assert len(cameras) >= 2
    for cam in cameras:
        image = obs[cam]
        assert image.shape == (48, 48, 3) and image.dtype == np.uint8
        assert image.std() > 1.0, f"{cam} rendered a blank image"
        assert np.isfinite(obs[f"{cam}/depth"]).all()
    assert env.observation_space.contains(obs)
    obs2, *_ = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs2)
    env.close()


def test_bad_action_shape_says_what_the_mode_takes():
    env = gym.make("workbench/Push-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"takes \(2,\) \(dx, dy\)"):
        env.step(np.zeros(5))


def test_unknown_control_mode_lists_the_robot_modes():
    with pytest.raises(ValueError, match="ee_delta, ee_delta_planar, joint_position"):
        gym.make("workbench/Push-v0", control_mode="torque")


@pytest.mark.parametrize("mode", ["ee_delta", "joint_position"])
def test_push_other_control_modes_run(mode):
    env = gym.make("workbench/Push-v0", control_mode=mode)
    env.reset(seed=0)
    for _ in range(5):
        obs, *_ = env.step(env.action_space.sample())
    assert np.isfinite(obs).all()


MANIPULATION = [name for name in SCENES.names() if "manipulation" in SCENES.load(name).tags]


@pytest.mark.parametrize("scene", MANIPULATION)
def test_scripted_policy_solves_each_manipulation_scene_and_random_does_not(scene):
    env = gym.make(f"workbench/{scene}-v0").unwrapped
    scripted, random_ = [], []
    for seed in range(20):
        env.reset(seed=seed)
        policy = env.task.scripted_policy(np.random.default_rng(seed))
        for _ in range(env.task.episode_steps):
            *_, info = env.step(policy(env.physics))
        scripted.append(info["success"])
        env.reset(seed=seed)
        env.action_space.seed(seed)
        for _ in range(env.task.episode_steps):
            *_, info = env.step(env.action_space.sample())
        random_.append(info["success"])
    assert np.mean(scripted) >= 0.9
    assert np.mean(random_) <= 0.1


def test_reset_from_a_saved_state_replays_exactly():
    env = gym.make("workbench/Push-v0").unwrapped
    env.reset(seed=4)
    for _ in range(10):
        env.step(np.array([0.5, 0.1]))
    state = env.snapshot()
    after = [env.step(np.array([0.3, -0.2]))[0] for _ in range(5)]
    env.reset(seed=4, options={"state": state})
    again = [env.step(np.array([0.3, -0.2]))[0] for _ in range(5)]
    np.testing.assert_array_equal(np.stack(after), np.stack(again))


def test_point_cloud_observations_are_cropped_to_the_workspace_in_the_base_frame():
    env = gym.make("workbench/Push-v0", obs_mode="pixels", cameras=("front", "top"),
                   image_size=64, point_cloud=4096)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    points = obs["points"]
    robot = env.unwrapped.robot
    low, high = np.array(robot.workspace_low), np.array(robot.workspace_high)
    assert points.shape == (4096, 3) and np.isfinite(points).all()
    assert np.all(points[:, :2] >= low[:2] - 1e-3) and np.all(points <= high + 1e-3)
    # The cube is in the cloud: some points lie within its half-size of its centre.
    cube = env.unwrapped.task.cube_position(env.unwrapped.physics)
    assert (np.linalg.norm(points - cube, axis=1) < 0.03).sum() >= 5
