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
import sqlite3
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

from workbench.data.workspace import DATABASE, LABEL_JOURNAL, MARKER, Workspace


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


def pack_folder(folder: Path) -> bytes:
    """One folder (a fitted model) with everything under it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=".")
    return buffer.getvalue()


def unpack(archive: bytes, into: Path) -> None:
    """Unpack what :func:`pack_recordings` or :func:`pack_folder` made into ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        tar.extractall(into, filter="data")

