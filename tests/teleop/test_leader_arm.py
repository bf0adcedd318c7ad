"""A LeRobot SO-101 leader arm drives the simulated SO-101 joint to joint while a take records:
LeRobot's real ``SOLeader`` reads its real Feetech bus, whose STS3215 servos are faked at the
lowest boundary (a pseudo-terminal, tests/export/fake_feetech.py). LeRobot runs in its own
venv (``.venv-lerobot``), as it does beside the app."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from workbench.session import Session
from workbench.teleop.leader import LeaderConfig, LeaderError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "export"))
from fake_feetech import so101_bus, ticks  # noqa: E402
from test_lerobot_driver import LEROBOT_PYTHON, require_lerobot, so101_joints  # noqa: E402


@pytest.fixture
def leader(tmp_path, monkeypatch):
    """A calibrated leader arm on a faked bus, posed away from the simulated arm's home."""
    require_lerobot()
    joints = so101_joints()
    pose = {"shoulder_pan": 0.4, "shoulder_lift": -0.3, "elbow_flex": 0.5, "wrist_flex": 0.2,
            "wrist_roll": -0.6}
    for name, angle in pose.items():
        low, high, _ = joints[name]
        joints[name] = (low, high, angle)
    bus, calibration = so101_bus(joints)
    folder = tmp_path / "calibration" / "teleoperators" / "so_leader"
    folder.mkdir(parents=True)
    (folder / "desk.json").write_text(json.dumps(calibration))
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "calibration"))
    monkeypatch.setenv("WORKBENCH_LEROBOT_PYTHON", str(LEROBOT_PYTHON))
    with bus:
        yield bus, pose


def _follow(session, ticks_: int) -> None:
    for _ in range(ticks_):
        session.recording.step()
        time.sleep(session.live.env.control_dt)


def test_the_leader_arm_drives_the_simulated_so101_and_the_take_is_saved(leader, tmp_path):
    bus, pose = leader
    session = Session(tmp_path / "ws", scene="Reach")
    try:
        session.recording.start(device="leader arm",
                                leader=LeaderConfig(port=bus.port, id="desk"))
        env = session.live.env
        assert env.robot_name == "so101" and env.control_mode == "joint_position"
        _follow(session, 25)
        targets = env.robot.hardware_targets(env.physics)  # the servos' commanded positions
        wanted = np.array(list(pose.values()))
        assert np.abs(targets[:5] - wanted).max() < np.radians(1.0)
        # The person moves the leader's wrist roll: the simulated wrist follows.
        bus.servos[5].position = float(ticks(0.3))
        _follow(session, 15)
        assert abs(env.robot.hardware_targets(env.physics)[4] - 0.3) < np.radians(1.0)
        session.recording.stop(save=True)
        [row] = session.context.workspace.episodes(source="teleop")
        saved = session.context.workspace.load_episode(row["id"])
        assert len(saved["action"]) >= 40 and saved.meta["meta"]["robot"] == "so101"
        assert bus.corrupt == 0
        assert all(not servo.goals for servo in bus.servos.values())  # a leader is only read
    finally:
        session.close()


def test_an_uncalibrated_leader_is_refused_in_one_line_and_nothing_records(leader, tmp_path):
    bus, _ = leader
    session = Session(tmp_path / "ws", scene="Reach")
    try:
        with pytest.raises(LeaderError, match="not calibrated: run lerobot-calibrate"):
            session.recording.start(device="leader arm",
                                    leader=LeaderConfig(port=bus.port, id="nobody"))
        assert not session.recording.active
        assert session.context.workspace.episodes() == []
        assert all(not servo.goals for servo in bus.servos.values())  # nothing written to it
    finally:
        session.close()
