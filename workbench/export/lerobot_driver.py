"""Drive a bundle through LeRobot's ``Robot`` interface: any robot LeRobot supports (the
SO-101 follower, Koch, third-party ``lerobot_robot_*`` plugins) runs a workbench policy.

LeRobot reports joint positions; a workbench policy observes its scene (joints, their speeds,
the grip site, the task's objects). The driver therefore keeps a *twin*: the bundle's scene
with the bundle's robot, whose joints are set to the measured ones at every read (no physics
is stepped), so the policy observes what it was trained on (the scene's objects are virtual: a
Reach target lives in the twin), and whose own controller turns the policy's command into
joint targets, which go to the robot in LeRobot's units. Success is the twin's: the measured
arm reaching the virtual goal.

Units and calibration: LeRobot's calibration puts each joint's zero at the middle of its range
of motion and reports degrees (``use_degrees``, the 0.4 default), the convention of the SO-101
model's "new calibration"; its gripper is 0-100 % of its range, mapped onto the model's
gripper joint range. The bundle's joint order must equal the robot's motor names, or the
driver refuses to start.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from workbench.export.drivers import Observation


class LeRobotError(RuntimeError):
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
        options["calibration_dir"] = calibration_dir
    if "use_degrees" in fields:
        options["use_degrees"] = True
    return make_robot_from_config(config_class(**options))


class LeRobotDriver:
    """A ``RobotDriver`` over a LeRobot robot, with the bundle's scene as its twin."""

    def __init__(self, meta: dict[str, Any], robot: Any, seed: int = 0):
        from workbench.envs.env import make_env

        expected = list(meta.get("hardware", {}).get("joint_order", ()))
        motors = [name.removesuffix(".pos") for name in robot.action_features]
        if motors != expected:
            raise LeRobotError(f"the robot's joints {motors} are not the bundle's {expected}: "
                               f"this bundle was trained for {meta.get('robot')!r}")
        ranges = meta["hardware"].get("joint_ranges") or []
        if len(ranges) != len(expected):
            raise LeRobotError("bundle.json: hardware.joint_ranges must give each joint's "
                               "limits (export the bundle again)")
        self.robot = robot
        self.motors = motors
        self.twin = make_env(meta["scene"], robot=meta.get("robot"),
                             control_mode=meta["control_mode"],
                             difficulty=meta.get("difficulty", 0.0))
        self._gripper_range = tuple(ranges[-1])  # LeRobot's 0-100 % spans it
        self.control_rate_hz = 1.0 / self.twin.control_dt
        self._previous: tuple[np.ndarray, float] | None = None
        self.info: dict[str, Any] = {}
        self.done = False
        self.steps = 0
        self._seed = seed

    # -- units -------------------------------------------------------------------------------
    def to_radians(self, reading: dict[str, float]) -> np.ndarray:
        values = np.array([float(reading[f"{name}.pos"]) for name in self.motors])
        closed, wide = self._gripper_range
        out = np.radians(values)
        out[-1] = closed + values[-1] / 100.0 * (wide - closed)
        return out

    def to_lerobot(self, radians: np.ndarray) -> dict[str, float]:
        closed, wide = self._gripper_range
        values = np.degrees(radians)
        values[-1] = 100.0 * (radians[-1] - closed) / (wide - closed)
        return {f"{name}.pos": float(v) for name, v in zip(self.motors, values, strict=True)}

    # -- the RobotDriver protocol ---------------------------------------------------------------
    def start(self) -> Observation:
        self.robot.connect(calibrate=False)  # never prompt: calibration is lerobot-calibrate's
        if not self.robot.is_calibrated:
            self.robot.disconnect()
            raise LeRobotError(f"{self.robot} is not calibrated: run lerobot-calibrate for it "
                               "first")
        return self.reset(self._seed)

    def reset(self, seed: int, speed: float = 0.5, timeout: float = 10.0) -> Observation:
        """A new episode: the twin draws its start (the arm's pose, the virtual objects) from
        ``seed`` and the robot moves there first, at ``speed`` rad/s, as a simulated episode
        starts from its reset pose."""
        self.twin.reset(seed=seed)
        self.done, self.steps, self._previous = False, 0, None
        self.move_to(self.twin.robot.hardware_positions(self.twin.physics).copy(), speed,
                     timeout)
        return self.read()

    def move_to(self, goal: np.ndarray, speed: float, timeout: float,
                tolerance: float = np.radians(1.0)) -> None:
        """Ramp the joint targets to ``goal`` at the control rate; return once the arm is
        within ``tolerance`` (the gripper: 2% of its span) or ``timeout`` seconds passed."""
        period = 1.0 / self.control_rate_hz
        here = self.to_radians(self.robot.get_observation())
        command = here.copy()
        span = abs(self._gripper_range[1] - self._gripper_range[0])
        allowed = np.full(len(goal), tolerance)
        allowed[-1] = 0.02 * span
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            command += np.clip(goal - command, -speed * period, speed * period)
            self.robot.send_action(self.to_lerobot(command))
            time.sleep(period)
            here = self.to_radians(self.robot.get_observation())
            if np.all(command == goal) and np.all(np.abs(here - goal) <= allowed):
                return

    def now(self) -> float:
        return time.monotonic()

    def read(self) -> Observation:
        stamp = time.monotonic()
        joints = self.to_radians(self.robot.get_observation())
        speeds = np.zeros_like(joints)
        if self._previous is not None and stamp > self._previous[1]:
            speeds = (joints - self._previous[0]) / (stamp - self._previous[1])
        self._previous = (joints, stamp)
        physics = self.twin.physics
        self.twin.robot.set_hardware_positions(physics, joints, speeds)
        physics.forward()
        self.info = self.twin.task.evaluate(physics)
        return Observation(np.asarray(self.twin.observe(), np.float32), stamp)

    def send(self, command: np.ndarray) -> None:
        physics = self.twin.physics
        self.twin.controller.apply(physics, np.asarray(command, np.float64))
        self.robot.send_action(self.to_lerobot(self.twin.robot.hardware_targets(physics)))
        self.steps += 1  # episodes end as in simulation, so success rates compare
        self.done = (self.steps >= self.twin.task.episode_steps
                     or self.twin.task.should_terminate(physics))

    def stop(self) -> None:
        """Hold where the robot is."""
        if self._previous is not None and self.robot.is_connected:
            self.robot.send_action(self.to_lerobot(self._previous[0]))

    def close(self) -> None:
        if self.robot.is_connected:
            self.robot.disconnect()
        self.twin.close()

