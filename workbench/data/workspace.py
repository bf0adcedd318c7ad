"""The Workspace folder: ``workspace.json``, ``workbench.sqlite`` and ``episodes/``,
``models/``, ``runs/`` subfolders.

SQLite (stdlib, WAL journal, one commit per change) indexes episodes, goals, preferences, reward
models and training runs; bulky arrays live in files beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from workbench.checksums import mismatched, sha256
from workbench.data.episode import SCHEMA, Episode, EpisodeWriter
from workbench.data.processes import dead_here

MANIFEST = "episode.json"  # an episode's own copy of its index row
# The labels' own copy, one JSON row a line: no folder repeats them, so a database lost whole
# would take them with it. Appended per label; rewritten when labels go with their episode.
LABEL_JOURNAL = "labels.jsonl"


def _changed_files(folder: Path) -> list[str]:
    try:
        expected = json.loads((folder / MANIFEST).read_text()).get("sha256", {})
    except (OSError, ValueError):
        return [MANIFEST]
    return mismatched(folder, expected)


def _usable(episode: Episode) -> bool:
    """At least one complete frame (a take killed before its first has no arrays at all)."""
    return len(episode) > 0

FORMAT = "workbench-workspace"
VERSION = 1
MARKER = "workspace.json"
DATABASE = "workbench.sqlite"

_TABLES = """
CREATE TABLE IF NOT EXISTS episodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scene TEXT NOT NULL,
    source TEXT NOT NULL,            -- teleop | scripted | policy | random | video
    status TEXT NOT NULL,            -- recording | saved | incomplete (recovered, unusable)
    num_steps INTEGER NOT NULL DEFAULT 0,
    success INTEGER,
    goal_id INTEGER REFERENCES goals(id),
    seed INTEGER,
    created REAL NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS goals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    scene TEXT,
    baseline TEXT,
    created REAL NOT NULL,
    UNIQUE (text, scene)
);
CREATE TABLE IF NOT EXISTS preferences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,              -- pair | ranking | rating
    segments TEXT NOT NULL,          -- JSON [[episode_id, start, end], ...]
    answer TEXT NOT NULL,            -- pair: left|right|equal|skip; ranking: JSON order
    rating REAL,
    teacher TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    family TEXT NOT NULL,
    scene TEXT NOT NULL,
    path TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    scene TEXT NOT NULL,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL
);
"""

PAIR_ANSWERS = ("left", "right", "equal", "skip")


class WorkspaceError(RuntimeError):
    """The folder is not a usable workspace; the message says why and what to do."""


class DamagedIndex(WorkspaceError):
    """The workspace's database does not read; `workspace recover` rebuilds it."""


@dataclass(frozen=True)
class Preference:
    id: int
    kind: str
    segments: list[tuple[int, int, int]]
    answer: Any
    rating: float | None
    teacher: str
    created: float = 0.0  # seconds since the epoch


class Workspace:
    """Open (or create) a workspace folder.

    Example:
        >>> ws = Workspace.open("~/robot-lessons", create=True)
        >>> [e["id"] for e in ws.episodes(scene="Push")]
    """

    def __init__(self, root: Path, connection: sqlite3.Connection):
        self.root = root
        self._db = connection

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, create: bool = False, rebuilding: bool = False) -> Workspace:
        """``rebuilding``: start a new index where the old one is gone (``data.rebuild``);
        otherwise a workspace whose database is missing is refused, so that nothing new is
        numbered over what it indexed before `workspace recover` restores it."""
        root = Path(path).expanduser().resolve()
        marker = root / MARKER
        new = not marker.exists()
        if new:
            if root.exists() and not root.is_dir():
                raise WorkspaceError(f"{root} is a file, not a workspace folder")
            if root.exists() and any(root.iterdir()):
                raise WorkspaceError(
                    f"{root} is not a workbench workspace (it has no {MARKER}) and is not empty; "
                    "choose an empty folder for a new workspace or an existing workspace folder"
                )
            if not create:
                raise WorkspaceError(
                    f"no workspace at {root}; create one with create=True "
                    "(CLI: any command with --workspace creates it)"
                )
            try:
                root.mkdir(parents=True, exist_ok=True)
                marker.write_text(json.dumps({"format": FORMAT, "version": VERSION}, indent=1))
            except OSError as exc:
                raise WorkspaceError(f"cannot make a workspace at {root} ({exc.strerror}); "
                                     "choose a folder you may write to") from None
        try:
            info = json.loads(marker.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise WorkspaceError(f"{marker} is unreadable ({exc}); it should be JSON") from exc
        if info.get("format") != FORMAT:
            raise WorkspaceError(f"{root} holds {info.get('format')!r}, not a workbench workspace")
        if info.get("version", 0) > VERSION:
            raise WorkspaceError(
                f"{root} was written by a newer workbench (format version {info['version']}); "
                f"this one reads up to version {VERSION}: upgrade the workbench"
            )
        for sub in ("episodes", "models", "runs"):
            (root / sub).mkdir(exist_ok=True)
        db_path = root / DATABASE
        if not (new or rebuilding or db_path.exists()):
            raise DamagedIndex(
                f"the workspace database {db_path} is missing; the episodes, models and runs "
                "beside it are untouched. `workbench workspace recover` indexes them again "
                f"and restores the labels from {LABEL_JOURNAL}")
        try:
            connection = sqlite3.connect(db_path, timeout=10, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.executescript(_TABLES)
            connection.execute("SELECT count(*) FROM episodes").fetchone()
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise DamagedIndex(
                f"the workspace database {db_path} is damaged ({exc}); the episodes, models "
                "and runs beside it are untouched. `workbench workspace recover` moves the "
                "database aside (kept), keeps what rows of it still read and indexes the "
                "folders again"
            ) from exc
        workspace = cls(root, connection)
        if not (root / LABEL_JOURNAL).exists():  # written before the journal existed
            workspace.write_label_journal()
        return workspace

    def copy_index(self, target: Path) -> None:
        """A consistent copy of the index at ``target`` (SQLite's backup: a commit in
        progress is either in it whole or not at all)."""
        with contextlib.closing(sqlite3.connect(target)) as copy:
            self._db.backup(copy)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _commit(self, sql: str, args: tuple[Any, ...] | dict[str, Any] = ()) -> int:
        with self._db:
            cursor = self._db.execute(sql, args)
        return int(cursor.lastrowid or 0)

    # -- episodes ----------------------------------------------------------------------------
    def new_episode(
        self,
        scene: str,
        source: str,
        seed: int | None = None,
        goal: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> EpisodeWriter:
        goal_id = self.add_goal(goal, scene) if goal else None
        episode_id = self._commit(
            "INSERT INTO episodes (scene, source, status, seed, goal_id, created, meta) "
            "VALUES (?, ?, 'recording', ?, ?, ?, ?)",
            (scene, source, seed, goal_id, time.time(), json.dumps(meta or {})),
        )
        folder = self._episode_folder(episode_id)
        folder.mkdir(parents=True, exist_ok=True)
        self._write_manifest(episode_id)
        return EpisodeWriter(folder, episode_id, self._finish_episode, self._forget_episode)

    def _write_manifest(self, episode_id: int) -> None:
        """The episode's row (scene, source, seed, goal text, success, meta) beside its arrays,
        so that recovery rebuilds it after the database is lost. Written atomically."""
        row = self._db.execute(
            "SELECT e.*, g.text AS goal FROM episodes e LEFT JOIN goals g ON g.id = e.goal_id "
            "WHERE e.id=?", (episode_id,)).fetchone()
        record = {k: row[k] for k in ("scene", "source", "status", "seed", "num_steps",
                                      "success", "created", "goal")}
        record["meta"] = json.loads(row["meta"])
        folder = self._episode_folder(episode_id)
        if row["status"] == "saved":  # the arrays are final: their digests are kept with them
            record["sha256"] = {p.name: sha256(p) for p in sorted(folder.iterdir())
                                if p.is_file() and p.name != MANIFEST and p.suffix != ".tmp"}
        tmp = folder / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(folder / MANIFEST)

    def _episode_folder(self, episode_id: int) -> Path:
        return self.root / "episodes" / f"{episode_id:06d}"

    def _finish_episode(self, episode_id: int, num_steps: int, meta: dict[str, Any]) -> None:
        row = self._db.execute("SELECT meta FROM episodes WHERE id=?", (episode_id,)).fetchone()
        merged = {**json.loads(row["meta"]), **meta}
        success = merged.pop("success", None)
        self._commit(
            "UPDATE episodes SET status='saved', num_steps=?, success=?, meta=? WHERE id=?",
            (num_steps, None if success is None else int(bool(success)), json.dumps(merged),
             episode_id),
        )
        self._write_manifest(episode_id)

    def _forget_episode(self, episode_id: int) -> None:
        self._commit("DELETE FROM episodes WHERE id=?", (episode_id,))

    def episodes(
        self, scene: str | None = None, source: str | None = None,
        include_incomplete: bool = False,
    ) -> list[dict[str, Any]]:
        sql = (
            "SELECT e.*, g.text AS goal FROM episodes e LEFT JOIN goals g ON g.id = e.goal_id "
            "WHERE 1=1"
        )
        args: list[Any] = []
        if not include_incomplete:
            sql += " AND e.status='saved'"
        if scene:
            sql += " AND e.scene=?"
            args.append(scene)
        if source:
            sql += " AND e.source=?"
            args.append(source)
        rows = self._db.execute(sql + " ORDER BY e.id", args).fetchall()
        return [{**dict(r), "meta": json.loads(r["meta"])} for r in rows]

    def load_episode(self, episode_id: int) -> Episode:
        row = self._db.execute(
            "SELECT e.*, g.text AS goal FROM episodes e LEFT JOIN goals g ON g.id = e.goal_id "
            "WHERE e.id=?",
            (episode_id,),
        ).fetchone()
        if row is None:
            raise WorkspaceError(f"no episode {episode_id} in {self.root}")
        meta = {**dict(row), "meta": json.loads(row["meta"])}
        return Episode(episode_id, self._episode_folder(episode_id), meta)

    def delete_episode(self, episode_id: int) -> None:
        """Delete an episode and the labels that point into it, for good."""
        shutil.rmtree(self.trash_episode(episode_id), ignore_errors=True)

    def trash_episode(self, episode_id: int) -> Path:
        """Delete an episode undoably: its folder and database rows (the episode and the labels
        that point into it) move to ``trash/``; :meth:`restore_episode` puts them back."""
        episode = self.load_episode(episode_id)
        row = dict(self._db.execute("SELECT * FROM episodes WHERE id=?", (episode_id,)).fetchone())
        labels = [
            dict(r) for r in self._db.execute("SELECT * FROM preferences ORDER BY id")
            if any(s[0] == episode_id for s in json.loads(r["segments"]))
        ]
        trash = self.root / "trash" / f"{episode_id:06d}-{time.time_ns()}"
        trash.parent.mkdir(exist_ok=True)
        shutil.move(str(episode.folder), str(trash))
        (trash / "rows.json").write_text(json.dumps({"episode": row, "preferences": labels}))
        with self._db:
            self._db.executemany("DELETE FROM preferences WHERE id=?",
                                 [(r["id"],) for r in labels])
            self._db.execute("DELETE FROM episodes WHERE id=?", (episode_id,))
        if labels:
            self.write_label_journal()
        return trash

    def restore_episode(self, trash: str | Path) -> int:
        """Undo :meth:`trash_episode`: the episode and its labels return with their ids."""
        trash = Path(trash)
        rows = json.loads((trash / "rows.json").read_text())
        episode = rows["episode"]
        with self._db:
            for table, records in (("episodes", [episode]), ("preferences", rows["preferences"])):
                for record in records:
                    names = ", ".join(record)
                    marks = ", ".join("?" * len(record))
                    self._db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                                     tuple(record.values()))
        if rows["preferences"]:
            self.write_label_journal()
        (trash / "rows.json").unlink()
        shutil.move(str(trash), str(self._episode_folder(episode["id"])))
        return int(episode["id"])

    def recover(self) -> list[int]:
        """Keep episodes a crash left in ``recording``: index the frames that reached disk, and
        re-index episode folders the database does not know (after a database loss) from the
        manifest each keeps. A take with no complete frame is marked ``incomplete``: kept on
        disk, skipped by fitting and export, listed by :meth:`check`."""
        recovered = []
        for row in self._db.execute("SELECT id FROM episodes WHERE status='recording'"):
            episode = Episode(row["id"], self._episode_folder(row["id"]), {})
            self._finish_episode(row["id"], len(episode), {"recovered": True})
            if not _usable(episode):
                self._commit("UPDATE episodes SET status='incomplete' WHERE id=?", (row["id"],))
                self._write_manifest(row["id"])
            recovered.append(row["id"])
        known = {r["id"] for r in self._db.execute("SELECT id FROM episodes")}
        for folder in sorted((self.root / "episodes").iterdir()):
            orphan = folder.name.isdigit() and int(folder.name) not in known
            if orphan and (folder / SCHEMA).exists():
                self._reindex(int(folder.name), folder)
                recovered.append(int(folder.name))
        for run in self.runs():  # killed runs (before their first checkpoint too) are failed
            if run["status"] == "running" and dead_here(run["metrics"]):
                self.update_run(run["id"], "failed", {"killed": True})
        return recovered

    def _reindex(self, episode_id: int, folder: Path) -> None:
        episode = Episode(episode_id, folder, {})
        try:
            record = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError):
            record = {"scene": "unknown", "source": "recovered", "meta": {}}
        status = "saved" if _usable(episode) else "incomplete"
        goal_id = self.add_goal(record["goal"], record.get("scene")) if record.get(
            "goal") else None
        self._commit(
            "INSERT INTO episodes (id, scene, source, status, seed, goal_id, num_steps, success,"
            " created, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (episode_id, record.get("scene", "unknown"), record.get("source", "recovered"),
             status, record.get("seed"), goal_id, len(episode), record.get("success"),
             record.get("created", time.time()), json.dumps(record.get("meta", {}))),
        )
        self._write_manifest(episode_id)

    def check(self) -> list[str]:
        """What is wrong with this workspace, one line each (empty: nothing)."""
        problems = []
        rows = self.episodes(include_incomplete=True)
        for row in rows:
            folder = self._episode_folder(row["id"])
            if not folder.exists():
                problems.append(f"episode {row['id']}: its folder {folder} is missing")
                continue
            episode = Episode(row["id"], folder, {})
            if row["status"] == "recording":
                problems.append(f"episode {row['id']}: still 'recording' (a crash?); run "
                                "`workbench workspace recover`")
            elif row["status"] == "incomplete":
                problems.append(f"episode {row['id']}: incomplete ({len(episode)} frames), "
                                f"skipped; `workbench episode delete {row['id']}` removes it")
            elif not _usable(episode):
                problems.append(f"episode {row['id']}: saved but has no complete frame; "
                                "`workbench workspace recover` marks it incomplete")
            else:
                changed = _changed_files(folder)
                if changed:
                    problems.append(f"episode {row['id']}: {', '.join(changed)} changed after "
                                    "it was saved (checksum mismatch)")
        known = {row["id"] for row in rows}
        for folder in sorted((self.root / "episodes").iterdir()):
            if folder.name.isdigit() and int(folder.name) not in known:
                problems.append(f"episode folder {folder.name} is not in the index; "
                                "`workbench workspace recover` indexes it")
        indexed = {p.id for p in self.preferences()}
        lost = [r for r in self.journalled_labels() if r.get("id") not in indexed]
        if lost:
            problems.append(f"{len(lost)} labels in {LABEL_JOURNAL} are not in the index; "
                            "`workbench workspace recover` restores those whose episodes exist")
        for run in self.runs():
            if run["status"] == "running" and dead_here(run["metrics"]):
                problems.append(f"run {run['id']}: 'running', but its process is gone; "
                                "`workbench workspace recover` marks it failed")
        for kind, rows in (("model", self.models()), ("run", self.runs())):
            for row in rows:
                if not Path(row["path"]).exists():
                    problems.append(f"{kind} {row['id']}: its folder {row['path']} is missing")
            for folder in self.unindexed_folders(f"{kind}s"):
                problems.append(f"{kind} folder {kind}s/{folder.name} is not in the index; "
                                "`workbench workspace recover` indexes it")
        return problems

    def unindexed_folders(self, kind: str) -> list[Path]:
        """Folders under ``models/`` or ``runs/`` with a ``config.json`` that no row names."""
        rows = self.models() if kind == "models" else self.runs()
        named = {Path(row["path"]).resolve() for row in rows}
        return [folder for folder in sorted((self.root / kind).iterdir())
                if (folder / "config.json").is_file() and folder.resolve() not in named]

    # -- goals -------------------------------------------------------------------------------
    def add_goal(self, text: str, scene: str | None = None, baseline: str | None = None) -> int:
        text = text.strip()
        if not text:
            raise ValueError("a goal needs some text, e.g. 'push the red cube onto the green pad'")
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO goals (text, scene, baseline, created) VALUES (?, ?, ?, ?)",
                (text, scene, baseline, time.time()),
            )
        row = self._db.execute(
            "SELECT id FROM goals WHERE text=? AND scene IS ?", (text, scene)
        ).fetchone()
        return int(row["id"])

    def goals(self, scene: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM goals", cast(tuple[Any, ...], ())
        if scene:
            sql, args = sql + " WHERE scene=?", (scene,)
        return [dict(r) for r in self._db.execute(sql + " ORDER BY id", args)]

    # -- preferences -------------------------------------------------------------------------
    def add_preference(
        self,
        segments: list[tuple[int, int, int]],
        answer: Any,
        kind: str = "pair",
        teacher: str = "user",
        rating: float | None = None,
    ) -> int:
        if kind == "pair":
            if len(segments) != 2 or answer not in PAIR_ANSWERS:
                raise ValueError(f"a pair needs 2 segments and an answer in {PAIR_ANSWERS}")
        elif kind == "ranking":
            if sorted(answer) != list(range(len(segments))):
                raise ValueError("a ranking answer must order every segment index exactly once")
            answer = json.dumps(list(answer))
        elif kind != "rating":
            raise ValueError(f"unknown preference kind {kind!r}: pair, ranking or rating")
        for episode_id, start, end in segments:
            episode = self.load_episode(episode_id)
            if not 0 <= start < end <= episode.meta["num_steps"]:
                raise ValueError(
                    f"segment ({episode_id}, {start}, {end}) is outside episode {episode_id} "
                    f"(0..{episode.meta['num_steps']})"
                )
        row: dict[str, Any] = {
            "kind": kind, "segments": json.dumps([list(s) for s in segments]),
            "answer": str(answer), "rating": rating, "teacher": teacher, "created": time.time()}
        label_id = self._commit(
            "INSERT INTO preferences (kind, segments, answer, rating, teacher, created) "
            "VALUES (:kind, :segments, :answer, :rating, :teacher, :created)", row)
        with (self.root / LABEL_JOURNAL).open("a") as journal:
            journal.write(json.dumps({"id": label_id, **row}) + "\n")
        return label_id

    def write_label_journal(self) -> None:
        """Rewrite the labels' copy from the index (atomically: a crash keeps the old one)."""
        rows = self._db.execute("SELECT * FROM preferences ORDER BY id").fetchall()
        partial = self.root / f"{LABEL_JOURNAL}.partial"
        partial.write_text("".join(json.dumps(dict(r)) + "\n" for r in rows))
        os.replace(partial, self.root / LABEL_JOURNAL)

    def journalled_labels(self) -> list[dict[str, Any]]:
        """The labels' copy, rows as the index holds them (a torn last line is skipped)."""
        try:
            lines = (self.root / LABEL_JOURNAL).read_text().splitlines()
        except OSError:
            return []
        rows = []
        for line in lines:
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
        return [r for r in rows if isinstance(r, dict)]

    def preferences(self) -> list[Preference]:
        out = []
        for r in self._db.execute("SELECT * FROM preferences ORDER BY id"):
            answer = json.loads(r["answer"]) if r["kind"] == "ranking" else r["answer"]
            segments = [tuple(s) for s in json.loads(r["segments"])]
            out.append(Preference(r["id"], r["kind"], segments, answer, r["rating"], r["teacher"],
                                  r["created"]))
        return out

    # -- models and runs ---------------------------------------------------------------------
    def new_artifact_dir(self, kind: str, name: str) -> Path:
        """A fresh folder under ``models/`` or ``runs/`` for an artifact being written."""
        base = self.root / kind
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base.mkdir(parents=True, exist_ok=True)
        path, suffix = base / f"{name}-{stamp}", 1
        while True:  # mkdir claims the name: processes starting in the same second differ
            try:
                path.mkdir()
                return path
            except FileExistsError:
                suffix += 1
                path = base / f"{name}-{stamp}-{suffix}"

    def add_model(self, name: str, family: str, scene: str, path: Path,
                  metrics: dict[str, Any], created: float | None = None) -> int:
        return self._commit(
            "INSERT INTO models (name, family, scene, path, metrics, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (name, family, scene, self.relative(path), json.dumps(metrics),
             created or time.time()),
        )

    def relative(self, path: str | Path) -> str:
        """How the index stores a path: relative to the root when inside it, so that a moved
        or copied workspace points at its own models and runs."""
        path = Path(path).resolve()
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def absolute(self, stored: str) -> str:
        return str(self.root / stored) if not Path(stored).is_absolute() else stored

    def newest_scene(self) -> str | None:
        """The scene of the newest episode, reward model or run: where the person left off."""
        row = self._db.execute(
            "SELECT scene, created FROM episodes UNION ALL SELECT scene, created FROM models "
            "UNION ALL SELECT scene, created FROM runs ORDER BY created DESC LIMIT 1").fetchone()
        return None if row is None else str(row["scene"])

    def models(self, scene: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM models", cast(tuple[Any, ...], ())
        if scene:
            sql, args = sql + " WHERE scene=?", (scene,)
        rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [{**dict(r), "path": self.absolute(r["path"]), "metrics": json.loads(r["metrics"])}
                for r in rows]

    def add_run(self, name: str, scene: str, path: Path, status: str,
                metrics: dict[str, Any], created: float | None = None) -> int:
        return self._commit(
            "INSERT INTO runs (name, scene, path, status, metrics, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (name, scene, self.relative(path), status, json.dumps(metrics),
             created or time.time()),
        )

    def insert_rows(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> int:
        """Copy rows, ids included, from another workbench database (a damaged one being
        rebuilt); columns this schema lacks are dropped, rows whose id exists are skipped."""
        mine = {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}
        keep = [i for i, c in enumerate(columns) if c in mine]
        names = ", ".join(columns[i] for i in keep)
        marks = ", ".join("?" * len(keep))
        with self._db:
            before = self._db.total_changes
            self._db.executemany(f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})",
                                 [tuple(row[i] for i in keep) for row in rows])
            return self._db.total_changes - before

    def update_run(self, run_id: int, status: str, metrics: dict[str, Any]) -> None:
        self._commit(
            "UPDATE runs SET status=?, metrics=? WHERE id=?", (status, json.dumps(metrics), run_id)
        )

    def run_at(self, folder: str | Path) -> dict[str, Any] | None:
        """The run row whose folder is ``folder`` (the newest, should two name it), or None."""
        folder = Path(folder).resolve()
        rows = [row for row in self.runs() if Path(row["path"]) == folder]
        return rows[-1] if rows else None

    def runs(self, scene: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM runs", cast(tuple[Any, ...], ())
        if scene:
            sql, args = sql + " WHERE scene=?", (scene,)
        rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [{**dict(r), "path": self.absolute(r["path"]), "metrics": json.loads(r["metrics"])}
                for r in rows]
