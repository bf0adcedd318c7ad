"""Robot drivers for the runner: the simulation, and real hardware over a small UDP protocol.

A driver reads the latest observation (values and the time they were measured) and sends
commands in the bundle's action space. Nothing here imports torch.

The UDP/JSON protocol (one JSON object per datagram, UTF-8):

runner -> robot, once at start: ``{"type": "hello", "address": [host, port]}``, where the robot
    sends its observations.
robot -> runner: ``{"type": "observation", "seq": 17, "stamp": 12.345, "values": [...]}``
    ``stamp`` is the robot's clock in seconds when the values were measured; ``values`` follow
    the bundle's observation contract (``bundle.json`` -> ``observation.features``, in order).
runner -> robot: ``{"type": "command", "seq": 17, "values": [...]}`` in the action contract,
    and ``{"type": "stop"}`` when the safety filter stops the robot (watchdog, e-stop).
The runner takes the newest observation it has; a robot that stops sending trips the watchdog.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class Observation:
    values: np.ndarray
    stamp: float  # seconds, on the clock of ``RobotDriver.now``


class RobotDriver(Protocol):
    control_rate_hz: float

    def now(self) -> float: ...
    def read(self) -> Observation | None: ...
    def send(self, command: np.ndarray) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class SimDriver:
    """The MuJoCo simulation of the bundle's scene as a robot; its clock is simulated time."""

    def __init__(self, scene: str, control_mode: str, difficulty: float = 0.0, seed: int = 0):
        from workbench.envs.env import make_env

        self.env = make_env(scene, control_mode=control_mode, difficulty=difficulty)
        self.control_rate_hz = 1.0 / self.env.control_dt
        self.reset(seed)

    def reset(self, seed: int) -> None:
        self.obs, self.info = self.env.reset(seed=seed)
        self.done = False
        self.stopped = False

    def now(self) -> float:
        return self.env.physics.time

    def read(self) -> Observation:
        return Observation(np.asarray(self.obs, np.float32), self.env.physics.time)

    def send(self, command: np.ndarray) -> None:
        self.obs, _, terminated, truncated, self.info = self.env.step(command)
        self.done = terminated or truncated

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.env.close()


class UdpDriver:
    """Hardware over UDP/JSON (see the module docstring). Binds ``listen``, sends to ``robot``."""

    def __init__(self, robot: tuple[str, int], listen: tuple[str, int] = ("127.0.0.1", 0),
                 control_rate_hz: float = 25.0):
        self.robot = robot
        self.control_rate_hz = control_rate_hz
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(listen)
        self.sock.setblocking(False)
        self.address = self.sock.getsockname()
        self._latest: Observation | None = None
        self._clock_offset: float | None = None
        self._seq = 0
        hello = {"type": "hello", "address": list(self.address)}
        self.sock.sendto(json.dumps(hello).encode(), self.robot)

    def now(self) -> float:
        """The robot's clock, estimated from the first observation's stamp."""
        offset = self._clock_offset if self._clock_offset is not None else 0.0
        return time.monotonic() + offset

    def read(self) -> Observation | None:
        while True:  # drain the socket: only the newest observation matters
            try:
                data, _ = self.sock.recvfrom(65536)
            except BlockingIOError:
                break
            try:
                message = json.loads(data.decode())
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # a malformed datagram is dropped, never acted on
            if message.get("type") != "observation":
                continue
            if self._clock_offset is None:
                self._clock_offset = float(message["stamp"]) - time.monotonic()
            self._latest = Observation(np.asarray(message["values"], np.float32),
                                       float(message["stamp"]))
        return self._latest

    def send(self, command: np.ndarray) -> None:
        self._seq += 1
        payload = {"type": "command", "seq": self._seq, "values": [float(x) for x in command]}
        self.sock.sendto(json.dumps(payload).encode(), self.robot)

    def stop(self) -> None:
        self.sock.sendto(json.dumps({"type": "stop"}).encode(), self.robot)

    def close(self) -> None:
        self.sock.close()
