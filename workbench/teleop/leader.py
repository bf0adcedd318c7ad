"""A LeRobot leader arm (the SO-101 leader, or any LeRobot ``Teleoperator``) as a teleop device:
its joints drive the simulated arm's joints one to one.

LeRobot pins its own torch, so it often lives in another venv than the app's. The arm is read
there, by this module run as a program (``python -m workbench.teleop.leader TYPE PORT ID``),
which prints one JSON line of joint readings per tick; :class:`LeaderArm` starts it with the
Python that has LeRobot (``WORKBENCH_LEROBOT_PYTHON``, default: this one) and turns the newest
line into the simulated arm's joint-position action.

Units are LeRobot's (``use_degrees``, its 0.4 default): degrees from the middle of each joint's
calibrated range for the body, 0-100 % of its span for the gripper (:class:`LeRobotUnits`,
which the LeRobot robot driver shares).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Leader types whose joints are the simulated SO-101's, in this order.
SO101_LEADERS = ("so101_leader", "so100_leader")
SO101_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll",
                "gripper")


class LeaderError(RuntimeError):
    """The leader arm cannot drive this scene (no LeRobot, no arm, not calibrated)."""


@dataclass(frozen=True)
class LeRobotUnits:
    """Joint positions between LeRobot's units and radians, for ``joints`` (the gripper last,
    with ``gripper_range`` (closed, wide) in radians)."""

    joints: tuple[str, ...]
    gripper_range: tuple[float, float]

    @classmethod
    def of(cls, env: Any) -> LeRobotUnits:
        """The units of ``env``'s arm, its joints in the hardware order (the gripper last)."""
        hardware = env.robot.hardware_mapping(env.control_mode, env.control_dt)
        return cls(tuple(hardware.joint_order), tuple(env.robot.gripper_range))

    @property
    def names(self) -> list[str]:
        """LeRobot's names of the joints' positions ("shoulder_pan.pos", ...)."""
        return [f"{name}.pos" for name in self.joints]

    def to_radians(self, reading: dict[str, float]) -> np.ndarray:
        values = np.array([float(reading[f"{name}.pos"]) for name in self.joints])
        closed, wide = self.gripper_range
        out = np.radians(values)
        out[-1] = closed + values[-1] / 100.0 * (wide - closed)
        return out

    def to_lerobot(self, radians: np.ndarray) -> dict[str, float]:
        closed, wide = self.gripper_range
        values = np.degrees(radians)
        values[-1] = 100.0 * (radians[-1] - closed) / (wide - closed)
        return {f"{name}.pos": float(v) for name, v in zip(self.joints, values, strict=True)}

    def vector(self, radians: np.ndarray) -> np.ndarray:
        """:meth:`to_lerobot` as LeRobot's ``observation.state`` holds it: values in order."""
        return np.asarray(list(self.to_lerobot(radians).values()), np.float32)


def lerobot_python(python: str = "") -> tuple[str, dict[str, str]]:
    """The Python that has LeRobot (``python``, else ``WORKBENCH_LEROBOT_PYTHON``, else this
    one: LeRobot pins its own torch, so it often lives in a venv of its own) and the
    environment to start it in, with this checkout's workbench first on its path."""
    python = python or os.environ.get("WORKBENCH_LEROBOT_PYTHON") or sys.executable
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return python, {**os.environ, "PYTHONPATH": path}


@dataclass(frozen=True)
class LeaderConfig:
    type: str = "so101_leader"  # a LeRobot teleoperator type
    port: str = ""  # its serial port, /dev/ttyACM1
    id: str = ""  # names its calibration file (lerobot-calibrate --teleop.id)
    python: str = ""  # the Python with LeRobot (default: WORKBENCH_LEROBOT_PYTHON, or this one)


class LeaderArm:
    """The teleop device: ``poll()`` is the simulated arm's joint-position action that puts each
    joint where the leader's is. ``env`` must run the SO-101 in ``joint_position`` control."""

    def __init__(self, env: Any, config: LeaderConfig, timeout: float = 20.0):
        if config.type not in SO101_LEADERS:
            raise LeaderError(f"leader type must be one of {', '.join(SO101_LEADERS)} (the "
                              f"simulated SO-101's joints), got {config.type!r}")
        if not config.port:
            raise LeaderError("leader port: give the leader arm's serial port (/dev/ttyACM1)")
        hardware = env.robot.hardware_mapping(env.control_mode, env.control_dt)
        if env.control_mode != "joint_position" or tuple(hardware.joint_order) != SO101_JOINTS:
            raise LeaderError("the leader arm drives the SO-101 in joint_position control; "
                              f"this scene runs {type(env.robot).__name__} in "
                              f"{env.control_mode}")
        self.units = LeRobotUnits.of(env)
        self.controller = env.controller  # joint_position: actions are its joints' targets
        self.robot: Any = env.robot
        self.latest: np.ndarray | None = None
        self.problem = ""
        self._closing = False
        python, environment = lerobot_python(config.python)
        self._log = tempfile.TemporaryFile("w+")  # LeRobot's logging: a pipe could fill up
        self.process = subprocess.Popen(
            [python, "-m", "workbench.teleop.leader", config.type, config.port,
             config.id or "leader", str(1.0 / env.control_dt)],
            stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL, text=True,
            env=environment)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while self.latest is None and time.monotonic() < deadline and not self.problem:
            time.sleep(0.02)
        if self.latest is None:
            self.close()
            raise LeaderError(self.problem or f"no reading from the {config.type} on "
                                              f"{config.port} within {timeout:.0f} s")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "error" in message:
                self.problem = str(message["error"])
                return
            try:
                self.latest = self.units.to_radians(message["positions"])
            except (KeyError, TypeError, ValueError) as exc:
                self.problem = (f"the leader's joints {sorted(message.get('positions', {}))} "
                                f"are not the SO-101's ({exc})")
                return
        if not self.problem and not self._closing:
            self.process.wait()
            self._log.seek(0)
            self.problem = "the leader arm's reader stopped: " + (
                self._log.read().strip().splitlines() or ["no message"])[-1]

    def poll(self) -> np.ndarray:
        if self.latest is None or self.problem:
            raise LeaderError(self.problem or "no reading from the leader arm")
        # The leader reads in the maker's convention; the model's joints may sit at an offset.
        targets = self.robot.simulated_positions(self.latest)
        return np.clip(self.controller.action_for(targets), -1.0, 1.0)

    def close(self) -> None:
        self._closing = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._reader.join(2.0)
        self._log.close()


def stream(teleop_type: str, port: str, teleop_id: str, rate_hz: float) -> int:
    """Read a LeRobot teleoperator at ``rate_hz`` and print its joints as JSON lines until the
    reader goes away; problems are one JSON line with "error"."""
    def say(message: dict[str, Any]) -> None:
        print(json.dumps(message), flush=True)

    try:
        from lerobot.teleoperators import (
            TeleoperatorConfig,
            make_teleoperator_from_config,
            so_leader,  # noqa: F401 - registers the SO leaders
        )
    except ImportError as exc:
        say({"error": f"the leader arm needs LeRobot: pip install 'lerobot[feetech]>=0.4,<0.5' "
                      f"or set WORKBENCH_LEROBOT_PYTHON to a Python that has it ({exc})"})
        return 1
    try:
        config = TeleoperatorConfig.get_choice_class(teleop_type)(port=port, id=teleop_id)
        leader = make_teleoperator_from_config(config)
        leader.connect(calibrate=False)  # never prompt: calibration is lerobot-calibrate's
    except Exception as exc:  # LeRobot's and the serial port's own errors
        say({"error": f"cannot connect the {teleop_type} on {port}: {exc}"})
        return 1
    try:
        if not leader.is_calibrated:
            say({"error": f"the {teleop_type} {teleop_id!r} is not calibrated: run "
                          f"lerobot-calibrate --teleop.type={teleop_type} --teleop.id="
                          f"{teleop_id} first"})
            return 1
        period = 1.0 / rate_hz
        while True:
            started = time.monotonic()
            say({"t": started, "positions": leader.get_action()})
            time.sleep(max(0.0, period - (time.monotonic() - started)))
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    finally:
        leader.disconnect()


if __name__ == "__main__":
    sys.exit(stream(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
