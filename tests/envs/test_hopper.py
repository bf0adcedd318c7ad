"""The hopper's scenes: dm_control's hopper, standing measured as dm_control measures it, and a
start tipped over by as much as the difficulty says."""

from __future__ import annotations

import numpy as np
from dm_control import suite

from workbench.envs import make_env


def test_standing_is_the_torso_above_the_foot_as_dm_control_measures_it():
    """The same joint angles in dm_control's hopper and in the scene give the same height
    (dm_control's ``Physics.height``), wherever the hopper stands or lies."""
    theirs = suite.load("hopper", "stand", task_kwargs={"random": 0}).physics
    joints = ("rootx", "rootz", "rooty", "waist", "hip", "knee", "ankle")
    rng = np.random.default_rng(0)
    heights = []
    for difficulty, steps in ((0.0, 5), (1.0, 60)):  # upright at first; falling, lying
        env = make_env("HopperStand", difficulty=difficulty)
        for seed in range(5):
            env.reset(seed=seed)
            for _ in range(int(rng.integers(0, steps))):
                env.step(rng.uniform(-1, 1, env.action_space.shape))
            angles = [env.physics.data.qpos[env.physics.model.joint(f"robot/{j}").qposadr[0]]
                      for j in joints]
            with theirs.reset_context():
                theirs.named.data.qpos[list(joints)] = angles
            heights.append(env.task.height(env.physics))
            assert np.isclose(heights[-1], theirs.height(), rtol=0, atol=1e-9), seed
        env.close()
    assert max(heights) > 0.6 > min(heights)  # standing and lying both measured


def test_the_start_is_tipped_over_by_as_much_as_the_difficulty_says():
    """Up to 0.25 rad at difficulty 0 (it stands, and falls unless it balances), any angle at
    1 (dm_control's start: it has to get up); upright and still, it stands."""
    tilts = {}
    for difficulty in (0.0, 1.0):
        env = make_env("HopperStand", difficulty=difficulty)
        pitch = env.physics.model.joint("robot/rooty").qposadr[0]
        tilts[difficulty] = []
        for seed in range(20):
            env.reset(seed=seed)
            tilts[difficulty].append(abs(env.physics.data.qpos[pitch]))
        env.close()
    assert max(tilts[0.0]) <= 0.25 and max(tilts[1.0]) > 2.0
    env = make_env("HopperStand")
    env.reset(seed=0)
    env.robot.set_pitch(env.physics, 0.0)
    env.physics.data.qvel[:] = 0.0
    assert env.task.evaluate(env.physics)["success"]
    env.robot.set_pitch(env.physics, np.pi / 2)  # on its side
    assert env.task.evaluate(env.physics)["terms"]["stand"] < 0.5
    env.close()
