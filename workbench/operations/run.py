"""Running an exported bundle: in simulation, or on a robot over the authenticated UDP link;
always through the safety filter. Needs no torch (a robot computer has numpy, onnxruntime,
mujoco and gymnasium)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import validated
from workbench.export.link import load_key
from workbench.export.runner import run_in_sim, run_on_robot
from workbench.operations.base import Progress, Request, Result

PORT = r"([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])"
HOST_PORT = {"pattern": rf"((\[[0-9a-fA-F:]+\]|[^:\s]*):{PORT})?",
             "pattern_help": "HOST:PORT with a port from 1 to 65535"}


def host_port(text: str) -> tuple[str, int]:
    """A checked HOST:PORT as (host, port)."""
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass(frozen=True, kw_only=True)
@validated
class RunBundle(Request):
    """Run an exported bundle in simulation, or drive a robot over the authenticated UDP link
    (protocol: workbench/export/link.py)."""

    bundle: Path = field(metadata={"help": "bundle folder", "positional": True})
    episodes: int = field(default=10, metadata={
        "help": "simulation episodes", "min": 1, "max": 1_000_000})
    robot: str = field(default="", metadata={
        "help": "HOST:PORT of a robot to drive instead of the simulation", **HOST_PORT})
    key_file: Path | None = field(default=None, metadata={
        "help": "the link's shared key, at least 16 bytes (default: the WORKBENCH_ROBOT_KEY "
                "environment variable)"})
    listen: str = field(default="", metadata={
        "help": "HOST:PORT where observations arrive (default: any interface, a free port)",
        **HOST_PORT})
    steps: int = field(default=1000, metadata={"help": "control steps on the robot", "min": 1})
    log: Path | None = field(default=None, metadata={
        "help": "append safety interventions to this JSONL file"})

    def perform(self, progress: Progress) -> Result:
        if not self.robot:
            return {"bundle": str(self.bundle), **run_in_sim(self.bundle, episodes=self.episodes)}
        return run_on_robot(self.bundle, host_port(self.robot), self.steps, self.log,
                            key=load_key(self.key_file),
                            listen=host_port(self.listen) if self.listen else ("", 0))
