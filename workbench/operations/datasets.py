"""Episodes, goals and preferences out of and into the formats other tools read: a LeRobot
v3.0 dataset folder or a robomimic HDF5 file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import validated
from workbench.data.formats import lerobot, robomimic
from workbench.data.formats.common import WITHOUT_FRAMES, frames_choice, load_episodes
from workbench.data.workspace import Workspace
from workbench.operations.base import Progress, Result, WorkspaceRequest
from workbench.registry import SCENE

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

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        fmt = _format(self.path, self.format)
        export = lerobot.export_lerobot if fmt == "lerobot" else robomimic.export_robomimic
        episodes = load_episodes(ws, None, self.scene)
        kept, cameras = frames_choice(episodes, self.without_frames)
        path = export(ws, self.path, scene=self.scene, without_frames=self.without_frames)
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
