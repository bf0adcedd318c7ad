"""Rebuilding a workspace's index from what is on disk.

The SQLite index is the one part of a workspace a crash or a bad disk can leave unreadable;
the episodes, models and runs are folders that describe themselves (an episode's manifest, a
model's or run's ``config.json``). :func:`rebuild_index` moves a damaged database aside (it is
kept, never deleted), starts a fresh one, copies over every row the damaged file still yields
(labels and goals exist only there) and indexes the folders again; :func:`index_folders` adds
model and run folders the index does not know, which is also what `workspace recover` does to a
healthy workspace.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from workbench.data.workspace import DATABASE, Workspace

STAMPED = re.compile(r"^(?P<name>.+)-\d{8}-\d{6}(-\d+)?$")  # new_artifact_dir's folder names
# The tables copied from a damaged database, in an order that keeps their references valid
# (episodes are indexed again from their own manifests, which are the better copy).
SALVAGED = ("goals", "preferences", "models", "runs")


def rebuild_index(root: Path) -> dict[str, Any]:
    """Move the damaged database at ``root`` aside, start a fresh index, copy what rows of the
    old one still read and index every folder. Returns what was kept and where the old file is."""
    damaged = root / DATABASE
    aside = root / f"{DATABASE}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
    damaged.rename(aside)
    for suffix in ("-wal", "-shm"):  # the journal belongs with the file it journals
        companion = root / f"{DATABASE}{suffix}"
        if companion.exists():
            companion.rename(Path(f"{aside}{suffix}"))
    with Workspace.open(root) as ws:
        salvaged = _salvage(ws, aside)
        recovered = ws.recover()
        folders = index_folders(ws)
    return {"moved_aside": str(aside), "salvaged_rows": salvaged, "recovered": recovered,
            "indexed_folders": folders}


def _salvage(ws: Workspace, old: Path) -> dict[str, int]:
    """Every row of :data:`SALVAGED` that the damaged file still reads, with its id."""
    counts: dict[str, int] = {}
    try:
        source = sqlite3.connect(f"file:{old}?mode=ro", uri=True)
    except sqlite3.Error:
        return counts
    with source:
        for table in SALVAGED:
            try:
                cursor = source.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed names)
                columns = [c[0] for c in cursor.description]
                rows = cursor.fetchall()
            except sqlite3.Error:  # this table's pages are gone: the folders may still tell
                counts[table] = 0
                continue
            counts[table] = ws.insert_rows(table, columns, rows)
    source.close()
    return counts


def index_folders(ws: Workspace) -> list[str]:
    """Index model and run folders that no row names (after a lost database, or rows deleted
    by hand); each from its ``config.json``. Folders without one are not artifacts: left out."""
    known = {Path(row["path"]).resolve() for row in [*ws.models(), *ws.runs()]}
    indexed = []
    for kind in ("models", "runs"):
        for folder in sorted((ws.root / kind).iterdir()):
            config = _config_of(folder)
            if folder.resolve() in known or config is None or not config.get("scene"):
                continue
            match = STAMPED.match(folder.name)
            name = match["name"] if match else folder.name
            created = (folder / "config.json").stat().st_mtime
            if kind == "models":
                ws.add_model(name, str(config.get("family", "unknown")), config["scene"], folder,
                             {**config.get("metrics", {}), "recovered": True}, created)
            else:  # a policy folder: the run ended with its policy saved
                status = "finished" if (folder / "policy").is_dir() else "failed"
                ws.add_run(name, config["scene"], folder, status, {"recovered": True}, created)
            indexed.append(ws.relative(folder))
    return indexed


def _config_of(folder: Path) -> dict[str, Any] | None:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None
