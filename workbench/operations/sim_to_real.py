"""The twin against LeRobot's side: a real robot's LeRobot dataset replayed through the
simulated robot (per-joint tracking error), and a policy LeRobot trained run on it (success and
return per episode)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.config import validated
from workbench.export.robot_dataset import lerobot_robots
from workbench.export.sim_to_real import replay_dataset
from workbench.operations.base import Progress, Request, Result
from workbench.registry import ROBOTS, SCENE, scene_robot
from workbench.teleop.leader import lerobot_python


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


@dataclass(frozen=True, kw_only=True)
@validated
class LeRobotEval(Request):
    """Run a policy LeRobot trained (``lerobot-train``'s ``pretrained_model`` folder) on the
    simulated robot as ``lerobot-record --policy.path`` runs it on the real one: the joints in
    LeRobot's names and units and its cameras in, joint targets out; success and return per
    episode. It runs in the Python that has LeRobot (LeRobot pins its own torch)."""

    policy: Path = field(metadata={
        "help": "lerobot-train's pretrained_model folder (outputs/train/RUN/checkpoints/last/"
                "pretrained_model)", "positional": True})
    scene: str = field(default="Reach", metadata={"help": "the scene to try it in", **SCENE})
    robot: str = field(default="so101", metadata={
        "help": "the simulated robot that stands for the real one LeRobot drives",
        "choices": ROBOTS.names})
    episodes: int = field(default=10, metadata={"help": "how many episodes", "min": 1,
                                                "max": 100_000})
    seed: int = field(default=0, metadata={
        "help": "the first episode's seed (the scene's layout; one more each episode)",
        "min": 0})
    python: str = field(default="", metadata={
        "help": "the Python that has LeRobot (default: WORKBENCH_LEROBOT_PYTHON, or this one)"})

    def check(self) -> None:
        known = lerobot_robots()
        if self.robot not in known:
            raise ValueError(f"--robot: LeRobot drives no real {self.robot}; it drives "
                             f"{', '.join(f'{n} ({t})' for n, t in sorted(known.items()))}")
        scene_robot(self.scene, self.robot)  # a robot of another kind: refused

    def perform(self, progress: Progress) -> Result:
        if not (self.policy / "config.json").is_file():
            raise ValueError(f"policy: {self.policy} has no config.json; give lerobot-train's "
                             "pretrained_model folder")
        python, environment = lerobot_python(self.python)
        request = json.dumps({"policy_dir": str(self.policy), "scene": self.scene,
                              "robot": self.robot, "episodes": self.episodes,
                              "seed": self.seed})
        result, problem = None, ""
        with tempfile.TemporaryFile("w+") as log:  # LeRobot's logging: a pipe could fill up
            process = subprocess.Popen(
                [python, "-m", "workbench.export.lerobot_policy", request],
                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True,
                env=environment)
            assert process.stdout is not None
            for line in process.stdout:
                row = _json_line(line)
                if "error" in row:
                    problem = str(row["error"])
                elif "result" in row:
                    result = row["result"]
                elif "episode" in row:
                    progress.emit("progress", done=row["episode"] + 1, total=self.episodes)
                if progress.should_stop():
                    process.kill()
                    break
            process.wait()
            if result is None:
                log.seek(0)
                lines = [line for line in log.read().splitlines() if line.strip()]
                raise ValueError(problem or f"the policy did not run: {python} exited with "
                                 f"{process.returncode} ({lines[-1] if lines else 'no message'})")
        return dict(result)


def _json_line(line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError:  # a library's print on stdout
        return {}
    return row if isinstance(row, dict) else {}
