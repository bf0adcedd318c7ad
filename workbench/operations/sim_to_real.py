"""The sim-to-real check as an operation: a real robot's LeRobot dataset replayed through the
simulated robot, reported as per-joint tracking error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import validated
from workbench.export.sim_to_real import replay_dataset
from workbench.operations.base import Progress, Request, Result
from workbench.registry import ROBOTS, SCENE


@dataclass(frozen=True, kw_only=True)
@validated
class SimToReal(Request):
    """Replay a real robot's LeRobot dataset (``lerobot-record``'s commanded ``action`` and
    measured ``observation.state``) through the simulated robot; report each joint's tracking
    error (RMS, max, bias: degrees, the gripper in % of its span)."""

    dataset: Path = field(metadata={"help": "LeRobot v3 dataset folder", "positional": True})
    robot: str = field(default="so101", metadata={
        "help": "the simulated robot that stands for the real one", "choices": ROBOTS.names})
    scene: str = field(default="Reach", metadata={
        "help": "the scene the robot stands in", **SCENE})
    episodes: int | None = field(default=None, metadata={
        "help": "replay the first N episodes (default: all)", "min": 1})

    def perform(self, progress: Progress) -> Result:
        progress.emit("message", text=f"replaying {self.dataset} on the simulated {self.robot}")
        return replay_dataset(self.dataset, self.robot, self.scene, self.episodes)
