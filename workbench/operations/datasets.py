"""Episodes, goals and preferences out of and into the formats other tools read: a LeRobot
v3.0 dataset folder or a robomimic HDF5 file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import validated
from workbench.data.formats import lerobot, robomimic
from workbench.data.formats.common import WITHOUT_FRAMES, frames_choice, load_episodes
from workbench.data.takes import named_robots_takes
from workbench.data.workspace import Workspace
from workbench.export.robot_dataset import robot_joints
from workbench.operations.base import Progress, Result, WorkspaceRequest
from workbench.registry import SCENE, robot_choices, scene_robot

LAYOUTS = ("workbench", "joints")
FORMAT = {"help": "lerobot or robomimic (default: robomimic for .hdf5/.h5 paths, LeRobot "
                  "otherwise)", "choices": ("", "lerobot", "robomimic")}


def _format(path: Path, chosen: str) -> str:
    return chosen or ("robomimic" if Path(path).suffix in (".hdf5", ".h5") else "lerobot")


@dataclass(frozen=True, kw_only=True)
@validated
class ExportDataset(WorkspaceRequest):
    """Export episodes, goals and preferences as a LeRobot dataset or a robomimic file."""

    path: Path = field(metadata={"help": "dataset folder (LeRobot) or .hdf5 file (robomimic)",
                                 "positional": True})
    format: str = field(default="", metadata=FORMAT)
    scene: str | None = field(default=None, metadata={
        "help": "only this scene's episodes (default: every scene's)"})
    without_frames: str = field(default="refuse", metadata={
        "help": "when only some episodes have camera frames: refuse (say which), skip those "
                "episodes, or drop the cameras from all", "choices": WITHOUT_FRAMES})
    robot: str = field(default="", metadata={
        "help": "only this robot's episodes of the scene (--scene), where it has takes of "
                "several robots; empty: every one", "choices": robot_choices})
    layout: str = field(default="workbench", metadata={
        "help": "workbench: the observations, simulator states and actions the workbench "
                "imports back; joints (LeRobot): the real robot's joint positions in LeRobot's "
                "names and units, as lerobot-record writes them, for LeRobot's policies on "
                "the real robot (the SO-101)", "choices": LAYOUTS})

    def check(self) -> None:
        if self.layout == "joints":
            if _format(self.path, self.format) != "lerobot":
                raise ValueError("--layout joints writes a LeRobot dataset: give a folder, not "
                                 "a .hdf5 file (or --format lerobot)")
            if not self.scene:
                raise ValueError("--layout joints: give --scene too (a robot's dataset holds "
                                 "one scene's takes)")
        if self.robot:
            if not self.scene:
                raise ValueError("--robot: give --scene too (a dataset holds one scene's takes "
                                 "of one robot)")
            scene_robot(self.scene, self.robot)  # a robot of another kind: refused first

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        fmt = _format(self.path, self.format)
        export = lerobot.export_lerobot if fmt == "lerobot" else robomimic.export_robomimic
        ids = None
        if self.robot and self.scene:
            ids = [row["id"] for row in named_robots_takes(ws, self.scene, self.robot)]
        episodes = load_episodes(ws, ids, self.scene)
        kept, cameras = frames_choice(episodes, self.without_frames)
        if self.layout == "joints":
            path = lerobot.export_lerobot(ws, self.path, ids, scene=self.scene,
                                          without_frames=self.without_frames,
                                          joints=robot_joints(kept))
        else:
            path = export(ws, self.path, ids, scene=self.scene,
                          without_frames=self.without_frames)
        result: Result = {"exported": str(path), "format": fmt, "episodes": len(kept),
                          "cameras": cameras}
        left_out = [e.meta["id"] for e in episodes if e not in kept]
        if left_out:
            result["left_out_without_frames"] = left_out
            progress.emit("message", text=f"left out episodes {left_out}: no camera frames")
        return result


@dataclass(frozen=True, kw_only=True)
@validated
class ImportDataset(WorkspaceRequest):
    """Import a LeRobot dataset or a robomimic file as episodes (with its goals and
    preferences where the workbench's sidecar brings them)."""

    changes_episodes = True

    path: Path = field(metadata={"help": "dataset folder (LeRobot) or .hdf5 file (robomimic)",
                                 "positional": True})
    format: str = field(default="", metadata=FORMAT)
    scene: str | None = field(default=None, metadata={
        "help": "the scene of every episode (needed for datasets without the sidecar)",
        **SCENE})

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        fmt = _format(self.path, self.format)
        load = lerobot.import_lerobot if fmt == "lerobot" else robomimic.import_robomimic
        return {"imported_episodes": load(ws, self.path, scene=self.scene), "format": fmt}
