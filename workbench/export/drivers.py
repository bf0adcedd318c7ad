"""Robot drivers for the runner: the simulation, and real hardware over an authenticated
UDP link (the wire format is in :mod:`workbench.export.link`).

A driver reads the latest observation (values and the time they were measured) and sends
commands in the bundle's action space. Nothing here imports torch.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from workbench.export.link import MAX_DATAGRAM, Inbox, LinkError, seal


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

    def __init__(self, scene: str, control_mode: str, difficulty: float = 0.0, seed: int = 0,
                 goal: str | None = None, robot: str | None = None):
        from workbench.envs.env import make_env

        self.env = make_env(scene, control_mode=control_mode, difficulty=difficulty, goal=goal,
                            robot=robot)
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
    """Hardware over the authenticated UDP link.

    Binds ``listen`` (default: every interface, a free port) and announces to the robot the
    address it is reached at from there. Only sealed datagrams from the robot's address (the
    host and port commands go to) with a newer sequence number count; everything else is
    dropped and counted in ``dropped``. An observation's stamp here is when it arrived (this
    machine's monotonic clock), so the watchdog does not depend on the robot's clock, whose
    stamps need only be finite and never go back.
    """

    def __init__(self, robot: tuple[str, int], key: bytes, obs_dim: int,
                 listen: tuple[str, int] = ("", 0), control_rate_hz: float = 25.0):
        self.robot = (socket.gethostbyname(robot[0]), int(robot[1]))
        self.key = key
        self.control_rate_hz = control_rate_hz
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(listen)
        self.sock.setblocking(False)
        self.address = (listen[0] or _route_to(self.robot), self.sock.getsockname()[1])
        self.inbox = Inbox(key, obs_dim)
        self._latest: Observation | None = None
        self._seq = 0

    @property
    def dropped(self) -> dict[str, int]:
        return dict(self.inbox.dropped)

    def start(self, timeout: float = 5.0) -> Observation:
        """Say hello until the first valid observation arrives; LinkError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._send({"type": "hello", "address": list(self.address)})
            until = min(deadline, time.monotonic() + 0.2)
            while time.monotonic() < until:
                observation = self.read()
                if observation is not None:
                    return observation
                time.sleep(0.005)
        raise LinkError(f"no valid observation from the robot at {self.robot[0]}:"
                        f"{self.robot[1]} within {timeout:g} s (dropped: {self.dropped or 0}); "
                        "check its address, its key and that it answers hello")

    def now(self) -> float:
        return time.monotonic()

    def read(self) -> Observation | None:
        while True:  # drain the socket: only the newest observation matters
            try:
                data, sender = self.sock.recvfrom(MAX_DATAGRAM + 1)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # e.g. an ICMP "port unreachable" reported on the next read
                self.inbox.dropped["socket_error"] += 1
                continue
            if tuple(sender[:2]) != self.robot:  # the robot answers from where it listens
                self.inbox.dropped["other_sender"] += 1
                continue
            accepted = self.inbox.accept(data)
            if accepted is not None:
                self._latest = Observation(np.asarray(accepted[2], np.float32), time.monotonic())
        return self._latest

    def _send(self, message: dict) -> None:
        self._seq += 1
        try:
            self.sock.sendto(seal(self.key, {**message, "seq": self._seq}), self.robot)
        except OSError:
            pass  # the next tick tries again; the watchdog covers a link that stays down

    def send(self, command: np.ndarray) -> None:
        self._send({"type": "command", "values": [float(x) for x in command]})

    def stop(self) -> None:
        self._send({"type": "stop"})

    def close(self) -> None:
        self.sock.close()


def _route_to(robot: tuple[str, int]) -> str:
    """This machine's address on the interface that reaches ``robot`` (nothing is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(robot)
        return probe.getsockname()[0]
    finally:
        probe.close()
