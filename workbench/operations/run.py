"""Running an exported bundle: in simulation, on a robot over the authenticated UDP link, or on
any robot LeRobot drives; always through the safety filter. Needs no torch (a robot computer
has numpy, onnxruntime, mujoco and gymnasium; LeRobot brings its own)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.config import ConfigError, validated
from workbench.envs.film import check_new_film
from workbench.export.link import load_key
from workbench.export.runner import (
    BundleError,
    default_limits,
    read_bundle,
    run_in_sim,
    run_on_lerobot,
    run_on_robot,
    run_on_ros2,
    save_limits,
)
from workbench.export.takeover import Takeover, gamepad_device, message_device
from workbench.operations.base import Progress, Request, Result

PORT = r"([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])"
HOST_PORT = {"pattern": rf"((\[[0-9a-fA-F:]+\]|[^:\s]*):{PORT})?",
             "pattern_help": "HOST:PORT with a port from 1 to 65535"}
ROBOT = {"pattern": rf"(lerobot:[a-z0-9_]+|ros2(:(/[A-Za-z_][A-Za-z0-9_]*)+)?|"
                    rf"(\[[0-9a-fA-F:]+\]|[^:\s]*):{PORT})?",
         "pattern_help": "HOST:PORT with a port from 1 to 65535, lerobot:TYPE "
                         "(lerobot:so101_follower) or ros2[:/NAMESPACE]"}


def host_port(text: str) -> tuple[str, int]:
    """A checked HOST:PORT as (host, port)."""
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass(frozen=True, kw_only=True)
@validated
class RunBundle(Request):
    """Run an exported bundle in simulation, drive a robot over the authenticated UDP link
    (protocol: workbench/export/link.py), or drive a LeRobot robot (``--robot
    lerobot:so101_follower --port /dev/ttyACM0``) or a robot on ROS 2 joint topics (``--robot
    ros2``), with the bundle's scene as its twin."""

    bundle: Path = field(metadata={"help": "bundle folder", "positional": True})
    episodes: int = field(default=10, metadata={
        "help": "episodes (in simulation, or on a LeRobot robot)", "min": 1, "max": 1_000_000})
    robot: str = field(default="", metadata={
        "help": "HOST:PORT of a robot on the UDP link, lerobot:TYPE for a robot LeRobot "
                "drives, or ros2[:/NAMESPACE] for one on ROS 2 joint topics, instead of the "
                "simulation", **ROBOT})
    port: str = field(default="", metadata={
        "help": "the serial port of a LeRobot robot (/dev/ttyACM0)"})
    robot_id: str = field(default="", metadata={
        "help": "the LeRobot robot's id, which names its calibration file"})
    key_file: Path | None = field(default=None, metadata={
        "help": "the link's shared key, at least 16 bytes (default: the WORKBENCH_ROBOT_KEY "
                "environment variable)"})
    listen: str = field(default="", metadata={
        "help": "HOST:PORT where observations arrive (default: any interface, a free port)",
        **HOST_PORT})
    steps: int = field(default=1000, metadata={"help": "control steps on the robot", "min": 1})
    log: Path | None = field(default=None, metadata={
        "help": "append safety interventions to this JSONL file"})
    realtime: bool = field(default=False, metadata={
        "help": "pace a simulated run at the control rate, as on a robot (to watch it live)"})
    takeover: str = field(default="", metadata={
        "help": "a device a person takes over with while the policy runs: moving it replaces "
                "the policy's command (end-effector bundles); keyboard: the keys pressed in "
                "the app's Export panel", "choices": ("", "gamepad", "keyboard")})
    record: Path | None = field(default=None, metadata={
        "help": "in simulation: record every episode into this workspace, marking the ticks "
                "a person took over (what `workbench train --algorithm sac --takeovers` "
                "learns from); without a take-over the policy's failed episodes are negatives "
                "for the next reward fit"})
    takeover_log: Path | None = field(default=None, metadata={
        "help": "append each tick the person commanded (observation, policy's and person's "
                "action) to this JSONL file"})
    video: Path | None = field(default=None, metadata={
        "help": "in simulation: film the episodes, one after another, into this new MP4 "
                "(H.264, 640x480, at the control rate)"})
    camera: str = field(default="", metadata={
        "help": "with --video: a scene camera to film from (default: the view the app opens on)"})

    def check(self) -> None:
        lerobot = self.robot.startswith("lerobot:")
        if lerobot and not self.port:
            raise ConfigError("port: give the serial port of the LeRobot robot (--port "
                              "/dev/ttyACM0)")
        if (self.port or self.robot_id) and not lerobot:
            raise ConfigError("port and robot_id are read only with --robot lerobot:TYPE")
        if self.record is not None and self.robot:
            raise ConfigError("record: episodes are recorded in simulation only (a robot's "
                              "take-overs go to --takeover-log)")
        if self.video is None:
            if self.camera:
                raise ConfigError("camera: a camera is read only with --video")
        elif self.robot:
            raise ConfigError("video: films are made of runs in simulation (the scene's "
                              "cameras are not on the robot)")
        else:
            check_new_film(self.video, "video")

    def perform(self, progress: Progress) -> Result:
        monitor = Telemetry(progress)
        takeover = self._takeover(progress)
        if not self.robot and self.record is not None:
            from workbench.data.workspace import Workspace

            with Workspace.open(self.record, create=True) as workspace:
                return {"bundle": str(self.bundle), "workspace": str(workspace.root),
                        **run_in_sim(self.bundle, episodes=self.episodes, monitor=monitor,
                                     realtime=self.realtime, takeover=takeover,
                                     record=workspace, video=self.video, camera=self.camera)}
        if not self.robot:
            return {"bundle": str(self.bundle), **run_in_sim(
                self.bundle, episodes=self.episodes, monitor=monitor, realtime=self.realtime,
                takeover=takeover, video=self.video, camera=self.camera)}
        if self.robot.startswith("lerobot:"):
            return run_on_lerobot(self.bundle, self.robot.removeprefix("lerobot:"), self.port,
                                  episodes=self.episodes, robot_id=self.robot_id or None,
                                  log=self.log, monitor=monitor, takeover=takeover)
        if self.robot.startswith("ros2"):
            return run_on_ros2(self.bundle, self.robot.removeprefix("ros2").lstrip(":"),
                               episodes=self.episodes, log=self.log, monitor=monitor,
                               takeover=takeover)
        return run_on_robot(self.bundle, host_port(self.robot), self.steps, self.log,
                            key=load_key(self.key_file),
                            listen=host_port(self.listen) if self.listen else ("", 0),
                            monitor=monitor, takeover=takeover)

    def _takeover(self, progress: Progress) -> Takeover | None:
        if not self.takeover:
            return None
        labels = tuple(read_bundle(self.bundle).get("action", {}).get("labels", ()))
        if self.takeover == "keyboard":
            if not progress.commands:
                raise ConfigError("takeover: the keyboard takes over from the app's Export "
                                  "panel; from a terminal, take over with a gamepad")
            if not labels or not set(labels) <= {"dx", "dy", "dz", "gripper"}:
                raise ConfigError(f"takeover: the keyboard steers end-effector bundles (dx, "
                                  f"dy, dz, gripper); this bundle's actions are {list(labels)}")
            return Takeover(message_device(lambda: progress.latest("takeover")),
                            log_path=self.takeover_log)
        try:
            device = gamepad_device(labels)
        except (ValueError, RuntimeError) as exc:  # not an end-effector bundle; no pad
            raise ConfigError(f"takeover: {str(exc).splitlines()[0]}") from None
        return Takeover(device, log_path=self.takeover_log)


class Telemetry:
    """The runner's monitor for a front end: at most ``rate_hz`` "telemetry" events a second
    (observation, policy action, filtered command) and a stop when the person asks for one."""

    def __init__(self, progress: Progress, rate_hz: float = 10.0):
        self.progress, self.period, self.last, self.ticks = progress, 1.0 / rate_hz, 0.0, 0

    def __call__(self, observation: np.ndarray | None, action: np.ndarray,
                 command: np.ndarray) -> bool:
        self.ticks += 1
        now = time.monotonic()
        if now - self.last >= self.period:
            self.last = now
            self.progress.emit("telemetry", tick=self.ticks, action=_floats(action),
                               command=_floats(command),
                               observation=None if observation is None else _floats(observation))
        return self.progress.should_stop()


def _floats(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in np.ravel(values)]


@dataclass(frozen=True, kw_only=True)
@validated
class SetLimits(Request):
    """Check and save a bundle's safety limits (bundle.json -> safety), each list one value per
    action dimension; what is not given stays as it is. Refused limits change nothing."""

    bundle: Path = field(metadata={"help": "bundle folder", "positional": True})
    low: tuple[float, ...] = field(default=(), metadata={"help": "lowest command per action"})
    high: tuple[float, ...] = field(default=(), metadata={"help": "highest command per action"})
    max_velocity: tuple[float, ...] = field(default=(), metadata={
        "help": "largest change of each command per second"})
    max_acceleration: tuple[float, ...] = field(default=(), metadata={
        "help": "largest change of each command's velocity per second"})
    watchdog_timeout: float | None = field(default=None, metadata={
        "help": "seconds without a fresh observation before the robot is stopped",
        "min": 0.001, "max": 2.0})

    def perform(self, progress: Progress) -> Result:
        meta = read_bundle(self.bundle)
        current = {k: list(v) if isinstance(v, tuple) else v
                   for k, v in vars(default_limits(meta)).items()}
        given: dict[str, Any] = {name: list(getattr(self, name)) for name in
                 ("low", "high", "max_velocity", "max_acceleration") if getattr(self, name)}
        if self.watchdog_timeout is not None:
            given["watchdog_timeout"] = self.watchdog_timeout
        dims = len(current["low"])
        for name, values in given.items():
            if isinstance(values, list) and len(values) == 1:  # one value for every dimension
                given[name] = values * dims
            elif isinstance(values, list) and len(values) != dims:
                raise ConfigError(f"{name}: give one value per action ({dims}), or one for "
                                  f"all; got {len(values)}")
        try:
            limits = save_limits(self.bundle, {**current, **given})
        except BundleError as exc:
            raise ValueError(str(exc)) from None
        return {"bundle": str(self.bundle),
                "safety": {k: list(v) if isinstance(v, tuple) else v
                           for k, v in vars(limits).items()}}
