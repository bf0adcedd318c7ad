"""A workspace's recordings of one scene as one archive, and folders back, for a task on a
machine that does not see the workspace's folder (a cluster without a shared file system).

The archive is a plain tar in memory: the marker, a consistent copy of the index (SQLite's
backup, so a write in progress here is not half-copied) and the scene's episode folders. It
is unpacked with tarfile's "data" filter, which refuses links and paths outside the target:
an archive carries arrays and JSON, nothing that runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.data.processes import dead_here, running_here
from workbench.data.workspace import DATABASE, LABEL_JOURNAL, MARKER, Workspace

OWNER = ".scratch-owner.json"  # in a scratch copy: the process that made it (running_here)
# In a run packed on another node: the reward models the run made there (online feedback's),
# each under its index in the run's list of them.
MADE = ".made"


def scratch_copy(kind: str) -> tempfile.TemporaryDirectory[str]:
    """An empty temporary folder for a node's copy of the workspace (``kind``: a sweep's
    "trial", a reward fit's "task"), naming the process that made it. The copies that a
    process which died left behind (its node was killed mid-job) are removed first."""
    clear_abandoned(Path(tempfile.gettempdir()))
    scratch = tempfile.TemporaryDirectory(prefix=f"workbench-{kind}-")
    (Path(scratch.name) / OWNER).write_text(json.dumps(running_here()))
    return scratch


def clear_abandoned(temp: Path) -> list[Path]:
    """Remove the scratch copies in ``temp`` whose process died without removing its own; the
    ones removed. A copy another machine's process made (a temp folder shared between
    machines) or one still being made is left alone."""
    removed = []
    for copy in temp.glob("workbench-*"):
        try:
            owner = json.loads((copy / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(owner, dict) and dead_here(owner):
            shutil.rmtree(copy, ignore_errors=True)
            removed.append(copy)
    return removed


def pack_recordings(ws: Workspace, scene: str, folders: Mapping[str, Path] | None = None
                    ) -> bytes:
    """The marker, the index (without its models and runs), the label journal and every
    episode folder of ``scene``; and ``folders`` (the reward models a sweep's trials train
    on), each under the name it maps from."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as scratch, tarfile.open(fileobj=buffer, mode="w") as tar:
        index = Path(scratch) / DATABASE
        ws.copy_index(index)
        with contextlib.closing(sqlite3.connect(index)) as copy, copy:
            # Their folders stay here: a copy that indexed them would point at nothing.
            copy.execute("DELETE FROM models")
            copy.execute("DELETE FROM runs")
        tar.add(index, arcname=DATABASE)
        for name in (MARKER, LABEL_JOURNAL):
            if (ws.root / name).is_file():
                tar.add(ws.root / name, arcname=name)
        for row in ws.episodes(scene=scene):
            folder = ws.load_episode(row["id"]).folder
            tar.add(folder, arcname=str(folder.relative_to(ws.root)))
        for name, folder in (folders or {}).items():
            tar.add(folder, arcname=name)
    return buffer.getvalue()


def pack_folder(folder: Path, beside: Mapping[str, Path] | None = None) -> bytes:
    """One folder (a fitted model, a run) with everything under it; and the folders
    ``beside`` it, each under the name it maps from (a run's :data:`MADE` models)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=".")
        for name, other in (beside or {}).items():
            tar.add(other, arcname=name)
    return buffer.getvalue()


def index_made(ws: Workspace, made: Mapping[str, Any], files: bytes | Path) -> tuple[Path, int]:
    """A model made on another node (``made``: its index row there) in a folder of its own
    in ``ws``, indexed; ``files``: its folder packed, or a folder of this disk that moves
    there. Its folder and its id here."""
    path = ws.new_artifact_dir("models", str(made["name"]))
    if isinstance(files, bytes):
        unpack(files, path)
    else:
        path.rmdir()
        shutil.move(files, path)
    return path, ws.add_model(made["name"], made["family"], made["scene"], path,
                              made["metrics"], made["created"])


def unpack(archive: bytes, into: Path) -> None:
    """Unpack what :func:`pack_recordings` or :func:`pack_folder` made into ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        tar.extractall(into, filter="data")

