"""Where a sweep's trial keeps its run: in the workspace itself, where every node of the
cluster sees it at its path (a shared file system), or in a scratch copy on the trial's node,
its run folder sent back to the sweep's own node after every PPO update (a lab's cluster
without a shared disk; the sweep's end of it is ``sweep_shipments``).

Either way a trial started again after its node was lost finds its run (the folder noted in
the sweep's ``trials/``, or the newest copy sent back) and resumes it from the run's last
checkpoint. Ray carries every archive between processes; nothing is unpickled from a file.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from workbench.data.transfer import MADE, pack_folder, scratch_copy, unpack
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
        self.trial = {k: params["trial"][k] for k in ("assignments", "seed")}
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
        shutil.rmtree(run_dir / MADE, ignore_errors=True)  # learned by a run that had ended
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
        this process as soon as it has), with the reward model it learned once it has ended
        (online feedback)."""
        assert self.run_dir is not None, "a run reports after its folder is made"
        row = ws.run_at(self.run_dir)
        assert row is not None, "a run reports after its row is made"
        sent = {key: row[key] for key in ("name", "scene", "status", "created")}
        # Its metrics name folders as here (the reward it trained on), not in the scratch copy.
        sent.update(folder=ws.relative(self.run_dir),
                    metrics=json.loads(self.as_here(json.dumps(row["metrics"]))))
        made = ws.models()  # the scratch copy indexes no model but those its run made
        sent["made"] = [{**{k: m[k] for k in ("name", "family", "scene", "metrics", "created")},
                         "path": self.as_here(m["path"])} for m in made]
        archive = pack_folder(self.run_dir, {f"{MADE}/{i}": Path(m["path"])
                                             for i, m in enumerate(made)})
        self.ray.get(self.shipments.keep.remote(self.trial_id, self.trial, sent, archive))

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
