"""Rebuilding a workspace's index from what is on disk.

The SQLite index is the one part of a workspace a crash or a bad disk can leave unreadable;
the episodes, models and runs are folders that describe themselves (an episode's manifest, a
model's or run's ``config.json``) and the labels have their journal (``labels.jsonl``).
:func:`rebuild_index` moves a damaged database aside (it is kept, never deleted), starts a fresh
one, copies over every row the damaged file still yields (the only copy of goals, and of a
model's or run's metrics) and indexes the folders and the journal again; :func:`index_folders`
and :func:`labels_from_journal` are also what `workspace recover` does to a healthy workspace.
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
    """Move the damaged (or find the missing) database at ``root`` aside, start a fresh index,
    copy what rows of the old one still read, and index every folder and journalled label.
    Returns what was kept and where the old file is."""
    aside = root / f"{DATABASE}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
    # SQLite's own journal goes with the file it journals (or, that file lost, out of the
    # way of the new one, which would otherwise replay it).
    for suffix in ("", "-wal", "-shm"):
        if (root / f"{DATABASE}{suffix}").exists():
            (root / f"{DATABASE}{suffix}").rename(Path(f"{aside}{suffix}"))
    salvage = aside.exists()
    with Workspace.open(root, rebuilding=True) as ws:
        salvaged = _salvage(ws, aside) if salvage else {}
        recovered = ws.recover()
        journalled = labels_from_journal(ws)
        folders = index_folders(ws)
    return {"moved_aside": str(aside) if salvage else None, "salvaged_rows": salvaged,
            "recovered": recovered, "labels_from_journal": journalled,
            "indexed_folders": folders}


def _salvage(ws: Workspace, old: Path) -> dict[str, int]:
    """Every row of :data:`SALVAGED` that the damaged file still reads, with its id."""
    counts: dict[str, int] = {}
    try:
        source = sqlite3.connect(f"{old.as_uri()}?mode=ro", uri=True)
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


def labels_from_journal(ws: Workspace) -> int:
    """Labels the index lost, from their journal: those whose episodes are all indexed (a label
    leaves the journal with its episode, so none of these was deleted). Rows that do not read
    as labels are left out."""
    episodes = {e["id"] for e in ws.episodes(include_incomplete=True)}
    rows = [row for row in map(_label_row, ws.journalled_labels())
            if row is not None and {s[0] for s in json.loads(row[2])} <= episodes]
    added = ws.insert_rows("preferences", list(LABEL_COLUMNS), rows)
    ws.write_label_journal()
    return added


LABEL_COLUMNS = ("id", "kind", "segments", "answer", "rating", "teacher", "created")


def _label_row(label: dict[str, Any]) -> tuple[Any, ...] | None:
    """A journalled label as the index's row, or None where it does not read as one."""
    try:
        segments = json.loads(label["segments"])
        ok = (type(label["id"]) is int and label["kind"] in ("pair", "ranking", "rating")
              and isinstance(label["answer"], str) and isinstance(label["teacher"], str)
              and isinstance(label["created"], int | float) and segments
              and all(len(s) == 3 and all(type(v) is int for v in s) for s in segments))
    except (KeyError, TypeError, ValueError):
        return None
    rating = label.get("rating")
    if not ok or not (rating is None or isinstance(rating, int | float)):
        return None
    return tuple(label.get(c) for c in LABEL_COLUMNS)


def index_folders(ws: Workspace) -> list[str]:
    """Index model and run folders that no row names (after a lost database, or rows deleted
    by hand); each from its ``config.json``. Folders without one are not artifacts: left out."""
    indexed = []
    for kind in ("models", "runs"):
        for folder in ws.unindexed_folders(kind):
            config = _config_of(folder)
            if config is None or not config.get("scene"):
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
