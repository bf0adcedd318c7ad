"""Where a sweep's trial keeps its run: in the workspace itself, where every node of the
cluster sees it at its path (a shared file system), or in a scratch copy on the trial's node,
its run folder sent back to the sweep's own process after every PPO update (a lab's cluster
without a shared disk).

Either way a trial started again after its node was lost finds its run (the folder noted in
the sweep's ``trials/``, or the newest copy sent back) and resumes it from the run's last
checkpoint. Shipped runs come back into the workspace when the sweep ends, each in a folder
of its own, as it stood at its trial's last report: finished, or stopped where ASHA or a lost
node stopped it. Ray carries every archive between processes; nothing is unpickled from a
file.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from workbench.data.transfer import pack_folder, scratch_copy, unpack
from workbench.data.workspace import Workspace
from workbench.rl.run_config import RunConfig
from workbench.rl.sweep_state import trial_key


def noted_run(out: Path, trial_id: str) -> str | None:
    """The run folder an in-place trial of the sweep in ``out`` noted when it began."""
    note = out / "trials" / f"{trial_id}.json"
    return str(json.loads(note.read_text())["run"]) if note.is_file() else None


class InPlace:
    """Every node sees the workspace: the trial writes its run there, as a run started by
    hand would, and notes the run's folder in the sweep's ``trials/``."""

    def __init__(self, params: dict[str, Any], trial_id: str):
        self.root = Path(params["workspace"])
        self.note = Path(params["out"]) / "trials" / f"{trial_id}.json"
        self.trial = {k: params["trial"][k] for k in ("assignments", "seed")}
        self.going_on = params["trial"].get("run")  # stopped in the sweep's last fit

    def open(self) -> None:
        """The workspace is there already."""

    def earlier(self) -> Path | None:
        """The run an earlier start of this trial began: if its node was lost, or the sweep
        was stopped and goes on."""
        self.note.parent.mkdir(exist_ok=True)
        noted = noted_run(self.note.parent.parent, self.note.stem)
        if noted is not None:
            return Path(noted)
        return Path(self.going_on) if self.going_on else None

    def local(self, config: RunConfig) -> RunConfig:
        return config

    def began(self, run_dir: Path) -> None:
        """Note the run, and the trial it is (for a sweep whose process is lost)."""
        self.note.write_text(json.dumps({"run": str(run_dir), "trial": self.trial}))

    def reported(self, ws: Workspace) -> None:
        """The run's folder is already where it belongs."""

    def as_here(self, text: str) -> str:
        """A message naming this trial's folders, as the sweep's caller knows them."""
        return text

    def failed(self, text: str) -> None:
        self.note.with_suffix(".txt").write_text(text)

    def close(self) -> None:
        pass


class Shipped:
    """Some node does not see the workspace: the trial unpacks the recordings (and the reward
    models it may train on) into a scratch workspace on its node and sends its run folder
    back after every update."""

    def __init__(self, params: dict[str, Any], trial_id: str):
        import ray

        self.ray: Any = ray
        self.trial_id, self.key = trial_id, trial_key(params["trial"])
        self.shipments = ray.get_actor(params["shipments"])
        self.models = dict(params["models"])  # as the trials name it -> name in the archive
        self.workspace = params["workspace"]
        self.scratch = scratch_copy("trial")
        self.root = Path(self.scratch.name).resolve()
        self.run_dir: Path | None = None

    def open(self) -> None:
        """Unpack the recordings and reward models into the scratch workspace."""
        unpack(self.ray.get(self.shipments.recordings.remote()), self.root)

    def earlier(self) -> Path | None:
        """The newest copy of the run an earlier start of this trial sent back (or, going on
        after the sweep was stopped, the run it stopped), unpacked here and indexed as stopped
        (so that resuming it keeps its row)."""
        newest = self.ray.get(self.shipments.newest.remote(self.trial_id, self.key))
        if newest is None:
            return None
        row, archive = newest
        run_dir = self.root / row["folder"]
        unpack(archive, run_dir)
        config = json.loads((run_dir / "config.json").read_text())
        if config.get("reward_model") in self.models:  # a run brought back names it as there
            config["reward_model"] = self.models[config["reward_model"]]
            (run_dir / "config.json").write_text(json.dumps(config, indent=1))
        with Workspace.open(self.root) as ws:
            ws.add_run(row["name"], row["scene"], run_dir, "stopped", row["metrics"],
                       row["created"])
        return run_dir

    def local(self, config: RunConfig) -> RunConfig:
        """The config with its reward model's folder as unpacked here."""
        if config.reward != "model":
            return config
        return replace(config, reward_model=self.models.get(config.reward_model,
                                                            config.reward_model))

    def began(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def reported(self, ws: Workspace) -> None:
        """Send the run's folder and row back (before Tune hears of the update: ASHA may end
        this process as soon as it has)."""
        assert self.run_dir is not None, "a run reports after its folder is made"
        [row] = [r for r in ws.runs() if Path(r["path"]) == self.run_dir.resolve()]
        sent = {key: row[key] for key in ("name", "scene", "status", "created")}
        # Its metrics name folders as here (the reward it trained on), not in the scratch copy.
        sent.update(folder=ws.relative(self.run_dir),
                    metrics=json.loads(self.as_here(json.dumps(row["metrics"]))))
        self.ray.get(self.shipments.keep.remote(self.trial_id, sent, pack_folder(self.run_dir)))

    def as_here(self, text: str) -> str:
        """A message naming this trial's folders, as the sweep's caller knows them: a reward
        model by the name the sweep gave it, the rest under the workspace."""
        for named, name in self.models.items():
            text = text.replace(str(self.root / name), str(Path(self.workspace) / named))
        return text.replace(str(self.root), self.workspace)

    def failed(self, text: str) -> None:
        self.ray.get(self.shipments.failed.remote(self.trial_id, text))

    def close(self) -> None:
        self.scratch.cleanup()


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


class Shipments:
    """The sweep's end of shipped trials (a Ray actor on the sweep's node): the recordings
    every trial starts from, the runs that trials going on after a stop resume, the newest
    copy of each trial's run, and the tracebacks of the trials that failed."""

    def __init__(self, recordings: bytes, going_on: dict[str, tuple[dict[str, Any], bytes]]):
        self._recordings = recordings
        self.going_on = going_on  # by trial_key: trial ids are new in each fit
        self.runs: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.tracebacks: dict[str, str] = {}

    def recordings(self) -> bytes:
        return self._recordings

    def keep(self, trial_id: str, row: dict[str, Any], archive: bytes) -> None:
        self.runs[trial_id] = (row, archive)

    def newest(self, trial_id: str, key: str) -> tuple[dict[str, Any], bytes] | None:
        return self.runs.get(trial_id) or self.going_on.get(key)

    def failed(self, trial_id: str, text: str) -> None:
        self.tracebacks[trial_id] = text

    def everything(self) -> tuple[dict[str, tuple[dict[str, Any], bytes]], dict[str, str]]:
        return self.runs, self.tracebacks


def start_shipments(ray: Any, recordings: bytes, name: str,
                    going_on: dict[str, tuple[dict[str, Any], bytes]]) -> Any:
    """The :class:`Shipments` actor, named for the trials to find, pinned to this node: the
    runs it holds are lost with it, so it must not be on a node the sweep may lose."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    return ray.remote(num_cpus=0, max_restarts=0)(Shipments).options(
        name=name, scheduling_strategy=here).remote(recordings, going_on)


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


def bring_back(ray: Any, shipments: Any, workspace: Path, out: Path, labels: dict[str, str],
               models: dict[str, str], going_on: set[str]) -> dict[str, str]:
    """Index each shipped trial's newest run in ``workspace`` (a new folder each, except a run
    that went on from an earlier fit (``going_on``, its folder here), which takes the place
    of the run it continued; a run still "running" at its last report is stopped, by whoever
    ``labels`` says stopped its trial) and write the failed trials' tracebacks into
    ``out/trials``. ``models`` maps the reward models as the trials named them to their names
    in the archive. Returns each trial's run folder here."""
    runs, tracebacks = ray.get(shipments.everything.remote())
    # A model from outside the workspace travelled under outside/: its run names it as here.
    outside = {name: named for named, name in models.items() if name.startswith("outside/")}
    continued = {str(Path(path).resolve()) for path in going_on}
    here: dict[str, str] = {}
    with Workspace.open(workspace) as ws:
        rows = {str(Path(r["path"]).resolve()): r for r in ws.runs()}
        for trial_id, (row, archive) in runs.items():
            path = ws.root / row["folder"]  # its own name, unless a run here has it
            if str(path.resolve()) in continued:
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
            _name_reward_as_here(path, outside, metrics)
            status = row["status"]
            if status == "running":
                metrics = {k: v for k, v in metrics.items() if k not in ("pid", "host")}
                status, metrics = "stopped", {**metrics, "stopped_by": labels.get(
                    trial_id, "its node was lost")}
            if str(path.resolve()) in continued:
                ws.update_run(rows[str(path.resolve())]["id"], status, metrics)
            else:
                ws.add_run(row["name"], row["scene"], path, status, metrics, row["created"])
            here[trial_id] = str(path)
    if tracebacks:
        (out / "trials").mkdir(exist_ok=True)
        for trial_id, text in tracebacks.items():
            (out / "trials" / f"{trial_id}.txt").write_text(text)
    return here


def _replace_folder(path: Path, archive: bytes) -> None:
    """``path``'s files replaced by the archive's, the old ones kept until the new are out."""
    fresh = path.with_name(f".{path.name}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    unpack(archive, fresh)
    old = path.with_name(f".{path.name}.old")
    path.rename(old)
    fresh.rename(path)
    shutil.rmtree(old)
