"""``workbench run --robot ros2``: a bundle trained on the simulated SO-101 drives a robot on
ROS 2 joint topics (a real rclpy node from PyPI's ros-rclpy wheels, ``fake_ros_robot.py``),
its joints matched by name."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robots.so101 import So101

sys.path.insert(0, str(Path(__file__).parent))
from fake_feetech import relax_watchdog  # noqa: E402
from fake_ros_robot import FakeRosRobot  # noqa: E402

NAMES = [*So101.joints, "gripper"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from workbench.data.workspace import Workspace
    from workbench.export.workflow import export_run
    from workbench.rl.ppo import PPOConfig
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    root = tmp_path_factory.mktemp("ros2")
    config = RunConfig(scene="Reach", robot="so101", reward="reference", eval_episodes=1,
                       tensorboard=False, hacking_guard=False,
                       ppo=PPOConfig(total_steps=256, num_envs=2, rollout_steps=128))
    result = train_run(Workspace.open(root / "ws", create=True), config)
    export_run(result["path"], root / "bundle")
    relax_watchdog(root / "bundle")
    return root / "bundle"


@pytest.fixture
def domain(monkeypatch):
    """A DDS domain of this test's own, so parallel test runs never hear each other."""
    number = str(random.randint(1, 100))
    monkeypatch.setenv("ROS_DOMAIN_ID", number)
    monkeypatch.setenv("ROS_LOCALHOST_ONLY", "1")
    return number


def run(bundle: Path, tmp_path: Path, robot: str = "ros2:/arm"):
    command = [sys.executable, "-m", "workbench.cli.main", "run", str(bundle), "--robot", robot,
               "--episodes", "1"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ})


def test_a_bundle_drives_a_robot_on_ros2_joint_topics(bundle, tmp_path, domain):
    # The robot publishes an extra joint, in another order: matched by name.
    names = ["camera_tilt", *reversed(NAMES)]
    start = np.array([0.0, *reversed([*So101.home, So101.gripper_range[0]])])
    with FakeRosRobot(names, start, namespace="/arm") as robot:
        out = run(bundle, tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["episodes"] == 1 and 0.0 <= report["success_rate"] <= 1.0
    assert not report["stopped"]
    assert robot.commands >= 60  # the homing ramp, one target per control tick, the hold
    assert robot.position[0] == 0.0  # a joint the bundle does not name is never commanded


def test_a_robot_without_the_bundles_joints_is_refused_before_anything_moves(
        bundle, tmp_path, domain):
    names = [f"panda_joint{i}" for i in range(1, 8)] + ["gripper"]
    with FakeRosRobot(names, np.zeros(8), namespace="/arm") as robot:
        out = run(bundle, tmp_path)
    assert out.returncode != 0
    assert "lack the bundle's" in out.stderr and "'so101'" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert robot.commands == 0


def test_silence_on_the_joint_topic_is_one_line(bundle, tmp_path, domain):
    out = run(bundle, tmp_path, robot="ros2:/nobody")
    assert out.returncode != 0
    assert "no sensor_msgs/JointState on /nobody/joint_states" in out.stderr
