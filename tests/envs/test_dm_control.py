"""Every dm_control suite task through the adapter: it loads, steps and renders pixels, passes
gymnasium's check_env and is deterministic under a seed."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from dm_control import suite
from gymnasium.utils.env_checker import check_env

import workbench
from workbench.envs.dm_control_adapter import SUITE_TASKS, scene_name

workbench.register_envs()


def test_the_adapter_covers_the_whole_suite():
    assert SUITE_TASKS == tuple(suite.ALL_TASKS)


@pytest.mark.parametrize("domain, task", SUITE_TASKS, ids=[f"{d}-{t}" for d, t in SUITE_TASKS])
def test_every_suite_task_loads_steps_and_renders(domain, task):
    env = gym.make(f"workbench/{scene_name(domain, task)}-v0", obs_mode="pixels",
                   image_size=32)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs["camera0"].std() > 1.0, "rendered a blank image"
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert np.isfinite(obs["state"]).all() and 0.0 <= info["progress"] <= 1.0
    env.close()


@pytest.mark.parametrize("name", [f"{d}-{t}" for d, t in SUITE_TASKS])
def test_check_env_and_determinism_on_every_suite_scene(name):
    env = gym.make(f"workbench/dmc-{name}-v0")
    check_env(env.unwrapped, skip_render_check=True)

    def rollout(seed):
        env.action_space.seed(seed)
        obs = [env.reset(seed=seed)[0]]
        rewards = []
        for _ in range(20):
            o, r, *_ = env.step(env.action_space.sample())
            obs.append(o)
            rewards.append(r)
        return np.stack(obs), np.array(rewards)

    a, b = rollout(3), rollout(3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(rollout(4)[0], a[0])


def test_scenes_json_tags_suite_scenes(capsys):
    import json

    from workbench.cli.main import main

    assert main(["scenes", "--json"]) == 0
    scenes = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert scenes["dmc-cheetah-run"]["tags"] == ["dm_control", "locomotion"]
    assert scenes["dmc-cheetah-run"]["id"] == "workbench/dmc-cheetah-run-v0"
    assert sum(not s["commands"] for s in scenes.values()) == len(SUITE_TASKS)
    # The classic control tasks are the workbench's own scenes too, which the commands take.
    assert scenes["CartpoleSwingup"]["tags"] == ["control", "dm_control"]
    assert scenes["CartpoleSwingup"]["commands"]
