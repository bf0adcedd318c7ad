"""The sweep's end of shipped trials (a cluster whose nodes do not all see the workspace): the
recordings every trial starts from, and each trial's run as it sends it back after every
update.

A Ray actor on the sweep's node holds them, and the sweep takes them into the workspace when
it ends. Each copy is also written to ``shipped/`` in the sweep's folder: by the actor
where its node is the sweep process's own machine, by the sweep's process as copies arrive
where a Ray Client drives the cluster (the actor is then on the head). So a sweep whose
process is lost (killed, or ended on an error) still has every shipped run as
its trial last sent it: going on, the sweep brings them into the workspace first and resumes
each from its checkpoint, as it does a run written in place. Each copy is a plain tar of the
run's folder beside a JSON of its row and trial, written whole before it replaces the one
before; nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.data.transfer import MADE, index_made, pack_folder, unpack
from workbench.data.workspace import Workspace
from workbench.rl.sweep_state import LOST, newest_by_trial, trial_key

SHIPPED = "shipped"  # in the sweep's folder: the runs shipped trials sent back
WHAT_TRAVELS = "sweep.json"  # in SHIPPED: the reward models' names, the runs going on

# A trial's newest copy: its grid point and seed, its run's row, its run folder packed.
Kept = tuple[dict[str, Any], dict[str, Any], bytes]


class Shipments:
    """A Ray actor on the sweep's node: the recordings, the runs that trials going on after a
    stop resume (by trial key: trial ids are new in each fit), every trial's newest run and
    the tracebacks of the trials that failed; ``travelled``: the reward models' names and the
    runs going on, as :func:`start_shipments` was given them; ``mirror``: the folder each
    copy is also written to, or None."""

    def __init__(self, recordings: bytes, going_on: dict[str, tuple[dict[str, Any], bytes]],
                 travelled: dict[str, Any], mirror: str | None):
        self._recordings, self.going_on, self.travelled = recordings, going_on, travelled
        self.mirror = Path(mirror) if mirror is not None else None
        self.runs: dict[str, Kept] = {}
        self.tracebacks: dict[str, str] = {}
        self.sent = 0  # copies kept so far; each trial's newest copy is the sent-th
        self._numbers: dict[str, int] = {}

    def recordings(self) -> bytes:
        return self._recordings

    def keep(self, trial_id: str, trial: dict[str, Any], row: dict[str, Any],
             archive: bytes) -> None:
        """The trial's run as it stands now, also on the mirror (``mirror_copy``)."""
        self.runs[trial_id] = (trial, row, archive)
        self.sent += 1
        self._numbers[trial_id] = self.sent
        if self.mirror is not None:
            mirror_copy(self.mirror, trial_id, self.runs[trial_id])

    def since(self, seen: int) -> tuple[int, dict[str, Kept]]:
        """The copies sent; each trial's newest that came after the ``seen``-th (what a Ray
        Client sweep's process mirrors on its own disk)."""
        return self.sent, {t: self.runs[t] for t, n in self._numbers.items() if n > seen}

    def newest(self, trial_id: str, key: str) -> tuple[dict[str, Any], bytes] | None:
        """What a trial started again resumes: its own newest copy, else the run it goes on
        with from the sweep's last fit."""
        if trial_id in self.runs:
            _, row, archive = self.runs[trial_id]
            return row, archive
        return self.going_on.get(key)

    def failed(self, trial_id: str, text: str) -> None:
        self.tracebacks[trial_id] = text

    def everything(self) -> tuple[dict[str, Kept], dict[str, str], dict[str, Any]]:
        return self.runs, self.tracebacks, self.travelled


def start_shipments(ray: Any, recordings: bytes, name: str, workspace: Path, out: Path,
                    models: dict[str, str], going_on: dict[str, str]) -> Any:
    """The :class:`Shipments` actor, named for the trials to find, pinned to this node: the
    runs it holds are lost with it, so it must not be on a node the sweep may lose.
    ``models``: the reward models as the trials name them -> their names in the recordings'
    archive; ``going_on``: trial_key -> the run folder a trial goes on with."""
    from ray.util import client

    from workbench.rl.ray_rollouts import on_this_node

    travelled = {"models": models, "going_on": going_on}
    (out / SHIPPED).mkdir(parents=True, exist_ok=True)
    (out / SHIPPED / WHAT_TRAVELS).write_text(json.dumps(travelled))
    # The actor's node is this machine, which sees ``out``, unless a Ray Client drives the
    # cluster: its process then mirrors the copies itself (``mirrored_here``).
    mirror = None if client.ray.is_connected() else str(out / SHIPPED)
    packed = packed_runs(workspace, going_on)
    return ray.remote(num_cpus=0, max_restarts=0)(Shipments).options(
        name=name, scheduling_strategy=on_this_node(ray)).remote(
            recordings, packed, travelled, mirror)


def mirrored_here(ray: Any, shipments: Any, out: Path) -> Callable[[], None]:
    """For a Ray Client sweep, whose actor cannot write to this disk: a call that writes the
    copies sent since the last call to ``out/shipped``, as the actor writes its own."""
    seen = 0

    def pull() -> None:
        nonlocal seen
        seen, fresh = ray.get(shipments.since.remote(seen))
        for trial_id, kept in fresh.items():
            mirror_copy(out / SHIPPED, trial_id, kept)

    return pull


def mirror_copy(folder: Path, trial_id: str, kept: Kept) -> None:
    """A trial's copy in the sweep's ``shipped/``: the archive first, then the row that names
    it, each whole before it replaces the last (a sweep lost mid-write keeps the copy
    before)."""
    trial, row, archive = kept
    _write(folder / f"{trial_id}.tar", archive)
    _write(folder / f"{trial_id}.json", json.dumps({"trial": trial, "row": row}).encode())


def packed_runs(workspace: Path, runs: dict[str, str]) -> dict[str, tuple[dict[str, Any], bytes]]:
    """The runs that trials going on after a stop resume (trial_key -> run folder), each as
    a trial sends its own back: its row and its packed folder."""
    packed = {}
    with Workspace.open(workspace) as ws:
        rows = {Path(r["path"]).resolve(): r for r in ws.runs()}
        for key, path in runs.items():
            row = rows[Path(path).resolve()]
            sent = {k: row[k] for k in ("name", "scene", "status", "created", "metrics")}
            packed[key] = ({**sent, "folder": ws.relative(path)}, pack_folder(Path(path)))
    return packed


def bring_back(ray: Any, shipments: Any, workspace: Path, out: Path, labels: dict[str, str]
               ) -> dict[str, str]:
    """When the sweep ends: every shipped trial's newest run into ``workspace``
    (:func:`_index`; a run still "running" at its last report stopped by whoever ``labels``
    says stopped its trial, by trial id, else by the loss of its node), the failed trials'
    tracebacks into ``out/trials``, and the actor ended. Returns each trial's run folder."""
    runs, tracebacks, travelled = ray.get(shipments.everything.remote())
    ray.kill(shipments)
    if tracebacks:
        (out / "trials").mkdir(exist_ok=True)
        for trial_id, text in tracebacks.items():
            (out / "trials" / f"{trial_id}.txt").write_text(text)
    return _index(workspace, out, runs, travelled, labels, "its node was lost")


def bring_back_left(workspace: Path, out: Path) -> dict[str, str]:
    """Going on with a sweep whose process was lost: the runs its shipped trials last sent,
    as the actor wrote them to ``out/shipped``, into ``workspace``, stopped with the sweep's
    process (:func:`_index`)."""
    folder = out / SHIPPED
    if not (folder / WHAT_TRAVELS).is_file():
        return {}
    runs = {note.stem: (kept["trial"], kept["row"], note.with_suffix(".tar").read_bytes())
            for note, kept in newest_by_trial(folder).values()}
    travelled = json.loads((folder / WHAT_TRAVELS).read_text())
    return _index(workspace, out, runs, travelled, {}, LOST)


def _index(workspace: Path, out: Path, runs: dict[str, Kept], travelled: dict[str, Any],
           labels: dict[str, str], unlabelled: str) -> dict[str, str]:
    """Index each trial's run in ``workspace`` (a new folder each, except a trial's run that
    went on from an earlier fit, which takes the place of the run it continued), note it in
    ``out/trials`` as an in-place trial notes its run, and clear ``out/shipped``. A run still
    "running" at its last report is stopped, by ``labels[trial_id]``, else by
    ``unlabelled``."""
    # A model from outside the workspace travelled under outside/: its run names it as here.
    outside = {name: named for named, name in travelled["models"].items()
               if name.startswith("outside/")}
    continued = {key: Path(path).resolve() for key, path in travelled["going_on"].items()}
    here: dict[str, str] = {}
    with Workspace.open(workspace) as ws:
        rows = {str(Path(r["path"]).resolve()): r for r in ws.runs()}
        for trial_id, (trial, row, archive) in runs.items():
            path = ws.root / row["folder"]  # its own name, unless a run here has it
            went_on = continued.get(trial_key(trial)) == path.resolve()
            if went_on:
                _replace_folder(path, archive)
            else:
                try:
                    path.mkdir(parents=True)
                except FileExistsError:
                    path = ws.new_artifact_dir("runs", row["name"])
                unpack(archive, path)
            # What the metrics say of the run's own folder (the reward as it read it).
            metrics = json.loads(json.dumps(row["metrics"]).replace(row["folder"],
                                                                    ws.relative(path)))
            for i, made in enumerate(row.get("made", [])):  # the reward it learned
                model, _ = index_made(ws, made, path / MADE / str(i))
                if metrics.get("reward") == made["path"]:
                    metrics["reward"] = str(model)
            shutil.rmtree(path / MADE, ignore_errors=True)
            _name_reward_as_here(path, outside, metrics)
            status = row["status"]
            if status == "running":
                metrics = {k: v for k, v in metrics.items() if k not in ("pid", "host")}
                status, metrics = "stopped", {**metrics, "stopped_by": labels.get(
                    trial_id, unlabelled)}
            if went_on:
                ws.update_run(rows[str(path.resolve())]["id"], status, metrics)
            else:
                ws.add_run(row["name"], row["scene"], path, status, metrics, row["created"])
            here[trial_id] = str(path)
            (out / "trials").mkdir(exist_ok=True)
            (out / "trials" / f"{trial_id}.json").write_text(
                json.dumps({"run": str(path), "trial": trial}))
            for copy in (out / SHIPPED).glob(f"{trial_id}.*"):  # not brought back twice
                copy.unlink()
    shutil.rmtree(out / SHIPPED, ignore_errors=True)
    return here


def _write(path: Path, data: bytes) -> None:
    fresh = path.with_name(f".{path.name}.new")
    fresh.write_bytes(data)
    os.replace(fresh, path)


def _name_reward_as_here(run: Path, outside: dict[str, str], metrics: dict[str, Any]) -> None:
    """Name the reward a shipped run trained on as here in its files, as its ``metrics``
    already do: its config names a model from outside the workspace by its name in the
    archive (``outside`` maps it back), its policy (what an exported bundle records) by the
    model's path on the trial's node."""
    config = json.loads((run / "config.json").read_text())
    if config.get("reward_model") in outside:
        config["reward_model"] = outside[config["reward_model"]]
        (run / "config.json").write_text(json.dumps(config, indent=1))
    header = run / "policy" / "policy.json"  # absent where the run stopped before its end
    if header.is_file() and metrics.get("reward"):
        policy = json.loads(header.read_text())
        if policy.get("reward"):
            policy["reward"] = metrics["reward"]
            header.write_text(json.dumps(policy, indent=1))


def _replace_folder(path: Path, archive: bytes) -> None:
    """``path``'s files replaced by the archive's, the old ones kept until the new are out."""
    fresh = path.with_name(f".{path.name}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    unpack(archive, fresh)
    old = path.with_name(f".{path.name}.old")
    path.rename(old)
    fresh.rename(path)
    shutil.rmtree(old)
