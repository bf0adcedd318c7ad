"""Exporting a trained policy as a bundle: ONNX, its metadata and a parity check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import validated
from workbench.data.workspace import Workspace
from workbench.export.workflow import export_run
from workbench.operations.base import Progress, Result, WorkspaceRequest
from workbench.rl.run import latest_run


@dataclass(frozen=True, kw_only=True)
@validated
class ExportBundle(WorkspaceRequest):
    """Export a trained policy as an ONNX bundle that the torch-free runner drives."""

    scene: str | None = field(default=None, metadata={
        "help": "the newest run of this scene (default: of any scene)"})
    run: Path | None = field(default=None, metadata={
        "help": "run folder (default: the newest finished run)"})
    out: Path | None = field(default=None, metadata={"help": "bundle folder (default: RUN/bundle)"})

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        run = Path(self.run) if self.run is not None else latest_run(ws, self.scene)
        out = Path(self.out) if self.out is not None else run / "bundle"
        progress.emit("message", text=f"exporting {run.name}")
        bundle = export_run(run, out)
        return {"bundle": str(out), "parity": bundle["parity"]}
