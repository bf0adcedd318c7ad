"""The safety filter starts from where the robot is: for absolute joint-position commands the
bundle says which observation entries measure the commanded joints, and the runner turns the
first observation into the command that holds the robot there."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.envs import make_env
from workbench.export.runner import BundleError, measured_command
from workbench.export.safety import SafetyFilter, SafetyLimits


def test_the_first_observation_gives_the_command_that_holds_the_arm():
    env = make_env("Reach", control_mode="joint_position")
    obs, _ = env.reset(seed=4)
    meta = env.contract()
    block = meta["hardware"]["measured"]
    assert block["actions"] == list(range(6))  # the arm joints; the gripper starts mid-range
    command = measured_command(meta, obs, env.action_space.shape[0])
    env.controller.apply(env.physics, command)
    joints = [env.physics.model.joint(env.robot.name(j)).qposadr[0] for j in env.robot.joints]
    np.testing.assert_allclose(env.physics.data.ctrl[:6], env.physics.data.qpos[joints],
                               atol=1e-6)
    assert command[6] == 0.0

    # From there the filter ramps: the first command moves at most one velocity step.
    limits = SafetyLimits.uniform(7, velocity=1.0, acceleration=100.0, watchdog_timeout=1.0)
    safety = SafetyFilter(limits, 0.04)
    safety.reset(np.clip(command, -1, 1))
    sent, _ = safety(np.ones(7))
    assert np.all(np.abs(sent - np.clip(command, -1, 1)) <= 0.04 + 1e-12)
    env.close()


def test_delta_commands_start_from_zero():
    env = make_env("Reach")  # end-effector deltas: zero holds
    obs, _ = env.reset(seed=0)
    meta = env.contract()
    assert meta["hardware"]["measured"] is None
    assert not measured_command(meta, obs, env.action_space.shape[0]).any()
    env.close()


@pytest.mark.parametrize("block", [
    {"actions": [0], "observation_index": [99], "offset": [0.0], "scale": [1.0]},
    {"actions": [5], "observation_index": [0], "offset": [0.0], "scale": [1.0]},
    {"actions": [0], "observation_index": [0], "offset": [float("nan")], "scale": [1.0]},
    {"actions": [0], "observation_index": [0], "offset": [0.0], "scale": [0.0]},
    {"actions": [0, 1], "observation_index": [0], "offset": [0.0], "scale": [1.0]},
    {"actions": "0"}, [],
])
def test_a_bad_measured_block_is_refused_before_anything_moves(block):
    with pytest.raises(BundleError, match="hardware.measured"):
        measured_command({"hardware": {"measured": block}}, np.zeros(4), 2)
