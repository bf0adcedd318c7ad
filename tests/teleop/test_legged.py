"""Command-level legged teleop: a person's velocity and turn commands walk the quadruped."""

from __future__ import annotations

import math

import numpy as np

from workbench.envs import make_env
from workbench.teleop.legged import LeggedCommandTeleop, QuadrupedTrot
from workbench.teleop.recorder import Recorder


def heading(env) -> float:
    m = env.physics.data.xmat[env.physics.model.body("robot/torso").id]
    return math.atan2(m[3], m[0])


def drive(env, keys, seconds, recorder=None):
    teleop = LeggedCommandTeleop(speed=1.0)
    gait = QuadrupedTrot(env.control_dt)
    for key in keys:
        teleop.press(key)
    for _ in range(round(seconds / env.control_dt)):
        action = gait(env.physics, teleop.command())
        (recorder.step if recorder else env.step)(action)


def test_forward_and_turn_commands_move_the_quadruped_as_asked(workspace):
    env = make_env("QuadrupedWalk")
    recorder = Recorder(env, workspace, "legged-teleop")
    recorder.start(seed=0)
    x0, yaw0 = env.task.body.torso_x(env.physics), heading(env)
    drive(env, ["w"], 4.0, recorder)
    assert env.task.body.torso_x(env.physics) - x0 > 0.8  # about 0.4 m/s
    assert abs(heading(env) - yaw0) < 0.5 and env.task.standing(env.physics) > 0.7
    episode_id = recorder.save()

    env.reset(seed=1)
    yaw0 = heading(env)
    drive(env, ["a"], 2.0)
    assert heading(env) - yaw0 > 0.6  # turning left
    env.reset(seed=1)
    drive(env, ["d"], 2.0)
    assert heading(env) - yaw0 < -0.6

    env.reset(seed=2)
    x0 = env.task.body.torso_x(env.physics)
    drive(env, [], 2.0)  # no command: it stands still
    assert abs(env.task.body.torso_x(env.physics) - x0) < 0.1

    episode = workspace.load_episode(episode_id)  # the take replays from its joint commands
    replay = make_env("QuadrupedWalk")
    replay.reset(seed=0, options={"state": episode.initial()["sim_state"]})
    for action in episode["action"]:
        replay.step(action)
    np.testing.assert_array_equal(replay.snapshot(), episode["sim_state"][-1])


def test_keys_and_stick_give_bounded_commands():
    teleop = LeggedCommandTeleop(speed=0.5)
    teleop.press("w")
    teleop.press("d")
    assert (teleop.command().forward, teleop.command().turn) == (0.5, -0.5)
    teleop.press("]")
    assert teleop.command().forward == 0.6
    teleop.set(2.0, -0.3)
    assert (teleop.command().forward, teleop.command().turn) == (1.0, -0.3)
