"""Drive a bundle through LeRobot's ``Robot`` interface: any robot LeRobot supports (the
SO-101 follower, Koch, third-party ``lerobot_robot_*`` plugins) runs a workbench policy, with
the bundle's scene as its twin (``workbench/export/twin.py``).

Units and calibration: LeRobot's calibration puts each joint's zero at the middle of its range
of motion and reports degrees (``use_degrees``, the 0.4 default), the convention of the SO-101
model's "new calibration"; its gripper is 0-100 % of its range, mapped onto the model's
gripper joint range. The bundle's joint order must equal the robot's motor names, or the
driver refuses to start.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from workbench.export.twin import TwinDriver, TwinError
from workbench.teleop.leader import LeRobotUnits


class LeRobotError(TwinError):
    """The LeRobot robot cannot run this bundle (missing package, unknown type, mismatch)."""


def make_lerobot_robot(robot_type: str, port: str, robot_id: str | None = None,
                       calibration_dir: str | None = None) -> Any:
    """A LeRobot ``Robot`` of a registered type, built from its own config class."""
    try:
        from lerobot.robots import (
            RobotConfig,
            make_robot_from_config,
            so_follower,  # noqa: F401 - registers the SO followers
        )
        from lerobot.utils.import_utils import register_third_party_plugins
    except ImportError as exc:
        raise LeRobotError(f"--robot lerobot:{robot_type} needs LeRobot: pip install "
                           f"'lerobot[feetech]>=0.4,<0.5' ({exc})") from None
    register_third_party_plugins()
    for module in ("koch_follower", "omx_follower"):  # the other built-in arms
        try:
            __import__(f"lerobot.robots.{module}")
        except ImportError:
            pass
    try:
        config_class = RobotConfig.get_choice_class(robot_type)
    except Exception:
        known = ", ".join(sorted(RobotConfig.get_known_choices()))
        raise LeRobotError(f"robot must be lerobot:TYPE with a LeRobot robot type ({known}), "
                           f"got lerobot:{robot_type}") from None
    fields = {f.name for f in dataclasses.fields(config_class)}
    options: dict[str, Any] = {"port": port, "id": robot_id}
    if calibration_dir:
        options["calibration_dir"] = Path(calibration_dir)  # LeRobot calls .mkdir() on it
    if "use_degrees" in fields:
        options["use_degrees"] = True
    return make_robot_from_config(config_class(**options))


READ_ATTEMPTS = 3  # bus reads per measurement before a silent bus ends the run


class LeRobotDriver(TwinDriver):
    """A twin driver over a LeRobot robot: its motors must be the bundle's joints, in order."""

    def __init__(self, meta: dict[str, Any], robot: Any, seed: int = 0):
        motors = [name.removesuffix(".pos") for name in robot.action_features]
        expected = list((meta.get("hardware") or {}).get("joint_order", ()))
        if motors != expected:  # before the twin is built: it may be a robot not installed here
            raise LeRobotError(f"the robot's joints {motors} are not the bundle's {expected}: "
                               f"this bundle was trained for {meta.get('robot')!r}")
        super().__init__(meta, seed)
        self.robot = robot
        self.dropped: dict[str, int] = {}  # reads that failed and were made again
        # degrees from mid-range for the joints, 0-100 % of its span for the gripper
        self.units = LeRobotUnits(tuple(self.joints), tuple(self.ranges[-1]))

    def connect(self) -> None:
        self.robot.connect(calibrate=False)  # never prompt: calibration is lerobot-calibrate's
        if not self.robot.is_calibrated:
            self.robot.disconnect()
            raise LeRobotError(f"{self.robot} is not calibrated: run lerobot-calibrate for it "
                               "first")

    def measure(self) -> np.ndarray:
        # A status packet lost on the half-duplex bus is routine and LeRobot reads once: read
        # again (counted) before giving up; a bus that stays silent still ends the run.
        for _ in range(READ_ATTEMPTS - 1):
            try:
                return self.units.to_radians(self.robot.get_observation())
            except ConnectionError:
                self.dropped["lost status packets"] = self.dropped.get(
                    "lost status packets", 0) + 1
        return self.units.to_radians(self.robot.get_observation())  # the last try raises

    def command(self, positions: np.ndarray) -> None:
        if self.robot.is_connected:
            self.robot.send_action(self.units.to_lerobot(positions))

    def disconnect(self) -> None:
        if self.robot.is_connected:
            self.robot.disconnect()
