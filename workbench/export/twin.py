"""Drivers that mirror a real robot's joints into the bundle's scene (its *twin*).

A workbench policy observes its scene: joints and their speeds, the grip site, the task's
objects. A robot driven through a joint-level interface (LeRobot's ``Robot``, ROS 2's
``JointState``) reports joints only, so the twin, the bundle's scene with the bundle's robot,
takes the measured joints at every read (kinematically: no physics is stepped), the policy
observes the twin (the scene's objects are virtual: a Reach target lives in the twin), and the
twin's own controller turns the policy's command into joint targets for the robot. Success is
the twin's: the measured arm reaching the virtual goal. Each episode first moves the robot to
the twin's start pose, as a simulated episode starts from its reset.

Subclasses say how to connect, measure and command, in the bundle's joint order and units
(``hardware.joint_order``, ``joint_units``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from workbench.export.drivers import Observation


class TwinError(RuntimeError):
    """The robot cannot run this bundle (another robot's joints, no calibration, silence)."""


class TwinDriver:
    """A ``RobotDriver`` for a joint-level robot interface, with the bundle's scene as twin."""

    def __init__(self, meta: dict[str, Any], seed: int = 0):
        from workbench.envs.env import make_env

        hardware = meta.get("hardware") or {}
        self.joints = list(hardware.get("joint_order", ()))
        ranges = hardware.get("joint_ranges") or []
        if not self.joints or len(ranges) != len(self.joints):
            raise TwinError("bundle.json: hardware.joint_order and joint_ranges must name each "
                            "joint and its limits (export the bundle again)")
        self.ranges = np.asarray(ranges, np.float64)
        self.trained_for = meta.get("robot")
        self.twin = make_env(meta["scene"], robot=meta.get("robot"),
                             control_mode=meta["control_mode"],
                             difficulty=meta.get("difficulty", 0.0))
        self.control_rate_hz = 1.0 / self.twin.control_dt
        self._previous: tuple[np.ndarray, float] | None = None
        self.info: dict[str, Any] = {}
        self.done = False
        self.steps = 0
        self._seed = seed

    # -- what a subclass provides --------------------------------------------------------------
    def connect(self) -> None:
        raise NotImplementedError

    def measure(self) -> np.ndarray:
        """Joint positions now, in the bundle's joint order and units."""
        raise NotImplementedError

    def command(self, positions: np.ndarray) -> None:
        """Send joint position targets, in the bundle's joint order and units."""
        raise NotImplementedError

    def disconnect(self) -> None:
        raise NotImplementedError

    # -- the RobotDriver protocol ---------------------------------------------------------------
    def start(self) -> Observation:
        self.connect()
        return self.reset(self._seed)

    def reset(self, seed: int, speed: float = 0.5, timeout: float = 10.0) -> Observation:
        """A new episode: the twin draws its start (the arm's pose, the virtual objects) from
        ``seed`` and the robot moves there first, at ``speed`` rad/s."""
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
        command = self.measure().copy()
        allowed = np.full(len(goal), tolerance)
        allowed[-1] = 0.02 * abs(self.ranges[-1, 1] - self.ranges[-1, 0])
        step = speed * period
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            command += np.clip(goal - command, -step, step)
            self.command(command)
            time.sleep(period)
            if np.all(command == goal) and np.all(np.abs(self.measure() - goal) <= allowed):
                return

    def now(self) -> float:
        return time.monotonic()

    def read(self) -> Observation:
        stamp = time.monotonic()
        joints = self.measure()
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
        self.command(self.twin.robot.hardware_targets(physics))
        self.steps += 1  # episodes end as in simulation, so success rates compare
        self.done = (self.steps >= self.twin.task.episode_steps
                     or self.twin.task.should_terminate(physics))

    def stop(self) -> None:
        """Hold where the robot is."""
        if self._previous is not None:
            self.command(self._previous[0])

    def close(self) -> None:
        self.disconnect()
        self.twin.close()
