"""The application layer: every user-facing operation, once, for the CLI and the app alike.

An operation is a typed request (a frozen dataclass of options with help and bounds) that
performs itself with a :class:`~workbench.operations.base.Progress` to report to and hear a
cancel from. ``workbench <words>`` generates its arguments from the request's fields
(:mod:`workbench.cli.generate`); the app builds the same requests from its widgets and runs
them in a worker process (:mod:`workbench.session.board`) or, when quick, in place.

The catalogue names each request as ``"module:Class"`` and imports it on first use, so that
``workbench run`` needs no torch and ``workbench --help`` imports no training code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from workbench.operations.base import USER_ERRORS, Progress, Request, Result, WorkspaceRequest


@dataclass(frozen=True)
class Operation:
    name: str  # the CLI's words: "train", "dataset export"
    request: str  # "module:Class" of its request, relative to this package
    summary: str  # one line for `workbench --help` (the request's docstring says more)

    @property
    def request_class(self) -> type[Request]:
        module, _, name = self.request.partition(":")
        cls: type[Request] = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        return cls


OPERATIONS = (
    Operation("record", "recording:Record", "record scripted, perturbed or random takes"),
    Operation("train-reward", "rewards:FitReward", "fit a reward model of one family"),
    Operation("teach", "rewards:Teach", "a synthetic teacher (B-Pref) ranks clips"),
    Operation("write-reward", "authoring:WriteReward",
              "a language model writes reward code, judged by the workspace"),
    Operation("goal", "rewards:SaveGoal", "save a goal sentence for a scene"),
    Operation("score-goal", "rewards:ScoreGoal",
              "the reward a goal sentence gives the recorded episodes"),
    Operation("train", "training:Train", "train a policy (PPO or SAC) on a reward"),
    Operation("sweep", "training:Sweep",
              "train a grid of settings x seeds on Ray Tune, ASHA on true success, ranked"),
    Operation("export", "bundle:ExportBundle", "export a trained policy as an ONNX bundle"),
    Operation("run", "run:RunBundle",
              "run a bundle (no torch) in simulation or on a robot, through the safety filter"),
    Operation("limits", "run:SetLimits", "check and save a bundle's safety limits"),
    Operation("sim-to-real", "sim_to_real:SimToReal",
              "replay a real robot's LeRobot dataset in simulation: per-joint tracking error"),
    Operation("lerobot-eval", "sim_to_real:LeRobotEval",
              "run a policy LeRobot trained on the simulated robot: success per episode"),
    Operation("dataset export", "datasets:ExportDataset",
              "write episodes as a LeRobot dataset or robomimic file"),
    Operation("dataset import", "datasets:ImportDataset",
              "read a LeRobot dataset or robomimic file into the workspace"),
    Operation("workspace info", "workspace:WorkspaceInfo", "what the workspace holds"),
    Operation("workspace check", "workspace:CheckWorkspace",
              "list problems (exit 1 if there are any)"),
    Operation("workspace recover", "workspace:RecoverWorkspace",
              "index what a crash or a lost database left behind"),
    Operation("episode delete", "workspace:DeleteEpisodes",
              "delete episodes and the labels on them"),
    Operation("episode film", "workspace:FilmEpisodes",
              "film recorded episodes from their stored states into an MP4"),
)


def named(name: str) -> Operation:
    for operation in OPERATIONS:
        if operation.name == name:
            return operation
    raise KeyError(f"unknown operation {name!r}")


def name_of(request: Request) -> str:
    """The operation a request belongs to."""
    for operation in OPERATIONS:
        module, _, cls = operation.request.partition(":")
        if type(request).__name__ == cls and type(request).__module__ == f"{__name__}.{module}":
            return operation.name
    raise KeyError(f"{type(request).__name__} is not an operation's request")


def execute(request: Request, progress: Progress | None = None, workspace: Any = None) -> Result:
    """Perform ``request``; an open Workspace, where the caller has one, is used as it is."""
    progress = progress or Progress()
    if isinstance(request, WorkspaceRequest):
        return request.perform(progress, workspace)
    return request.perform(progress)


__all__ = ["OPERATIONS", "USER_ERRORS", "Operation", "Progress", "Request", "Result",
           "WorkspaceRequest", "execute", "name_of", "named"]
