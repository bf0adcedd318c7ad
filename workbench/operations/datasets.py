"""Episodes, goals and preferences out of and into the formats other tools read: a LeRobot
v3.0 dataset folder or a robomimic HDF5 file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import validated
from workbench.data.formats import lerobot, robomimic
from workbench.data.workspace import Workspace
from workbench.operations.base import Progress, Result, WorkspaceRequest

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

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        fmt = _format(self.path, self.format)
        export = lerobot.export_lerobot if fmt == "lerobot" else robomimic.export_robomimic
        return {"exported": str(export(ws, self.path, scene=self.scene)), "format": fmt}


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
        "help": "the scene of every episode (needed for datasets without the sidecar)"})

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        fmt = _format(self.path, self.format)
        load = lerobot.import_lerobot if fmt == "lerobot" else robomimic.import_robomimic
        return {"imported_episodes": load(ws, self.path, scene=self.scene), "format": fmt}
