"""Keyboard teleop through its real key layer; recording and exact replay."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.envs import make_env
from workbench.teleop import KeyboardTeleop
from workbench.teleop.recorder import Recorder


def test_held_keys_become_actions():
    teleop = KeyboardTeleop(("dx", "dy", "dz", "gripper"), speed=0.5)
    assert teleop.action().tolist() == [0, 0, 0, -1]
    teleop.press("w")
    teleop.press("a")
    assert teleop.action().tolist() == [0.5, 0.5, 0, -1]
    teleop.press("shift")
    assert teleop.action().tolist() == [1.0, 1.0, 0, -1]
    teleop.release("shift")
    teleop.release("w")
    teleop.press("space")  # toggles the gripper open
    teleop.press("]")  # faster
    np.testing.assert_allclose(teleop.action(), [0, 0.6, 0, 1])
    teleop.press("s")
    teleop.press("w")  # opposite keys cancel
    assert teleop.action()[0] == 0


def test_keyboard_refuses_modes_it_cannot_drive():
    with pytest.raises(ValueError, match="ee_delta"):
        KeyboardTeleop(("right_hip", "right_knee"))


def test_a_keyboard_take_replays_to_the_same_final_state(workspace):
    env = make_env("Push", control_mode="ee_delta")
    teleop = KeyboardTeleop(env.controller.labels)
    recorder = Recorder(env, workspace, "teleop", goal="push the cube")
    recorder.start(seed=11)
    script = ["w"] * 10 + ["a"] * 5 + ["f", "w"] * 5 + ["d"] * 8
    for key in script:
        teleop.press(key)
        recorder.step(teleop.action())
        teleop.release(key)
    episode_id = recorder.save()
    episode = workspace.load_episode(episode_id)
    assert len(episode) == len(script)
    assert episode.meta["goal"] == "push the cube"

    replay = make_env("Push", control_mode="ee_delta")
    replay.reset(seed=episode.meta["seed"], options={"state": episode.initial()["sim_state"]})
    for action in episode["action"]:
        replay.step(action)
    np.testing.assert_array_equal(replay.snapshot(), episode["sim_state"][-1])


def test_the_keyboard_help_names_only_the_axes_a_controller_has():
    from workbench.teleop.keyboard import controls_help

    planar = controls_help(("dx", "dy"))
    assert "w/s: x" in planar and "a/d: y" in planar
    assert "r/f" not in planar and "gripper" not in planar
    assert "space: gripper" in controls_help(("dx", "dy", "dz", "gripper"))
    assert "joint commands" in controls_help(("hip", "knee"))
