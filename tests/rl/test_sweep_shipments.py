"""The sweep's end of shipped trials without a cluster (the actor's class called directly):
each trial's newest run kept, mirrored on the sweep's disk, and brought into the workspace
from there when a sweep whose process was lost goes on (the sweep's own end, through Ray, is
the cluster tests')."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.rl.test_sweep_going_on import PLAN
from workbench.data.processes import running_here
from workbench.data.transfer import MADE, pack_folder
from workbench.data.workspace import Workspace
from workbench.rl.checkpoint import run_checkpoint
from workbench.rl.sweep_report import rank, write_report
from workbench.rl.sweep_shipments import (
    SHIPPED,
    WHAT_TRAVELS,
    Shipments,
    bring_back_left,
)
from workbench.rl.sweep_state import LOST, earlier_trials, merged, process_lost, state, trial_key

FIRST, SECOND = ({"assignments": list(PLAN.combinations[0]), "seed": s} for s in PLAN.seeds)


def _run_on_a_node(node: Path, update: int) -> tuple[dict, bytes]:
    """A run folder as a trial on another node has it after ``update`` updates: its row as
    the trial sends it, and the folder packed."""
    run = node / "runs" / "ppo-Reach-1"
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps({"scene": "Reach"}))
    (run / "metrics.jsonl").write_text("".join(
        json.dumps({"step": 256 * u, "charts/success_rate": .1 * u}) + "\n"
        for u in range(1, update + 1)))
    run_checkpoint(run).write_bytes(b"update %d" % update)
    row = {"name": "ppo-Reach", "scene": "Reach", "status": "running", "created": 100.0,
           "folder": "runs/ppo-Reach-1", "metrics": {"update": update, "pid": 1, "host": "n"}}
    return row, pack_folder(run)


def _sweep(tmp_path: Path, going_on: dict | None = None, continued: dict | None = None
           ) -> tuple[Path, Path, Shipments]:
    """A workspace, its sweep's folder and the sweep's shipments mirrored to its disk
    (``going_on``: by trial key, the runs trials go on with, as the actor holds them;
    ``continued``: their folders here)."""
    root = tmp_path / "ws"
    Workspace.open(root, create=True).close()
    out = root / "sweeps" / "sweep-Reach"
    (out / SHIPPED).mkdir(parents=True)
    travelled = {"models": {}, "going_on": continued or {}}
    (out / SHIPPED / WHAT_TRAVELS).write_text(json.dumps(travelled))
    return root, out, Shipments(b"", going_on or {}, travelled, str(out / SHIPPED))


def test_a_trial_started_again_resumes_its_newest_copy_else_the_run_it_goes_on_with(tmp_path):
    earlier = ({"folder": "runs/earlier"}, b"earlier run")
    _, _, shipments = _sweep(tmp_path, {trial_key(FIRST): earlier})
    assert shipments.newest("t-1", trial_key(FIRST)) == earlier
    assert shipments.newest("t-2", trial_key(SECOND)) is None
    for update in (1, 2):
        row, archive = _run_on_a_node(tmp_path / "node", update)
        shipments.keep("t-1", FIRST, row, archive)
    assert shipments.newest("t-1", trial_key(FIRST)) == (row, archive)  # update 2's
    assert sorted(p.name for p in (tmp_path / "ws" / "sweeps" / "sweep-Reach" / SHIPPED)
                  .iterdir()) == [WHAT_TRAVELS, "t-1.json", "t-1.tar"]
    # A Ray Client's sweep: the actor's node is not the sweep's machine, nothing is mirrored.
    remote = Shipments(b"", {}, {"models": {}, "going_on": {}}, None)
    remote.keep("t-1", FIRST, row, archive)
    assert remote.everything()[0] == {"t-1": (FIRST, row, archive)}


def test_runs_a_lost_sweep_s_trials_sent_back_go_on_from_their_last_copy(tmp_path):
    """Its process killed, the sweep's results list every trial as not started and its runs
    were never indexed: going on, each shipped trial's newest copy comes into the workspace,
    stopped with the sweep's process, and the trial resumes it."""
    root, out, shipments = _sweep(tmp_path)
    for update in (1, 2):
        shipments.keep("t-1", FIRST, *_run_on_a_node(tmp_path / "node", update))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pending = merged(PLAN, [], [])
    write_report(out, PLAN.base, rank(pending), pending,
                 running={**running_here(), "pid": int(gone.stdout)})
    assert process_lost(out)
    [(trial_id, path)] = bring_back_left(root, out).items()
    assert trial_id == "t-1" and not (out / SHIPPED).exists()
    assert run_checkpoint(path).read_bytes() == b"update 2"
    with Workspace.open(root) as ws:
        [row] = ws.runs()
        assert ws.relative(row["path"]) == "runs/ppo-Reach-1" and row["created"] == 100.0
    assert (row["status"], row["metrics"]) == ("stopped", {"update": 2, "stopped_by": LOST})
    trials = earlier_trials(out, [row])
    assert [state(t) for t in trials] == [LOST, "not started", "not started", "not started"]
    assert trials[0]["stopped_run"] == path
    assert bring_back_left(root, out) == {}  # brought back once


def test_a_run_that_went_on_comes_back_into_its_own_folder(tmp_path):
    """A trial going on from an earlier fit's stopped run sends it back under the run's
    own folder name: it replaces that run's files and updates its row, and a run of another
    trial that happens to have the same name on its node gets a new folder."""
    stopped = tmp_path / "ws" / "runs" / "ppo-Reach-1"
    row, archive = _run_on_a_node(tmp_path / "first node", 1)
    root, out, shipments = _sweep(tmp_path, {trial_key(FIRST): (row, archive)},
                                  {trial_key(FIRST): str(stopped)})
    with Workspace.open(root) as ws:
        stopped.mkdir(parents=True)
        ws.add_run("ppo-Reach", "Reach", stopped, "stopped", {"stopped_by": "stopped by hand"},
                   50.0)
    row, archive = _run_on_a_node(tmp_path / "first node", 3)
    shipments.keep("t-1", FIRST, {**row, "status": "finished", "metrics": {"update": 3}},
                   archive)
    shipments.keep("t-2", SECOND, *_run_on_a_node(tmp_path / "second node", 2))
    here = bring_back_left(root, out)
    assert here["t-1"] == str(stopped) and here["t-2"] != str(stopped)
    assert run_checkpoint(stopped).read_bytes() == b"update 3"
    with Workspace.open(root) as ws:
        rows = {r["path"]: r for r in ws.runs()}
    assert len(rows) == 2
    assert (rows[str(stopped)]["status"], rows[str(stopped)]["created"]) == ("finished", 50.0)
    assert rows[here["t-2"]]["metrics"]["stopped_by"] == LOST
    notes = {p.stem: json.loads(p.read_text()) for p in (out / "trials").glob("*.json")}
    assert notes == {"t-1": {"run": str(stopped), "trial": FIRST},
                     "t-2": {"run": here["t-2"], "trial": SECOND}}


def test_a_sweep_that_ended_or_still_runs_did_not_lose_its_process(tmp_path):
    pending = merged(PLAN, [], [])
    write_report(tmp_path, PLAN.base, rank(pending), pending, running=running_here())
    assert not process_lost(tmp_path)  # this process runs it
    write_report(tmp_path, PLAN.base, rank(pending), pending)
    assert not process_lost(tmp_path) and not process_lost(tmp_path / "no sweep")


def test_a_reward_a_shipped_run_learned_comes_back_indexed_beside_it(tmp_path):
    """An online-feedback trial's run packs the reward model it stored on its node beside
    its folder (``MADE``): brought back, the model has a folder of its own under models/,
    indexed, and the run's metrics and policy name it there, not the node's path."""
    root, out, shipments = _sweep(tmp_path)
    node = tmp_path / "node"
    row, _ = _run_on_a_node(node, 8)
    run, learned = node / "runs" / "ppo-Reach-1", node / "models" / "preference-Reach-1"
    learned.mkdir(parents=True)
    (learned / "model.json").write_text('{"family": "preference"}')
    (run / "policy").mkdir()
    (run / "policy" / "policy.json").write_text(json.dumps({"reward": str(learned)}))
    there = str(root / "models" / "preference-Reach-1")  # as the trial names it (as_here)
    made = {"name": "preference-Reach", "family": "preference", "scene": "Reach",
            "metrics": {"online_labels": 12}, "created": 120.0, "path": there}
    row = {**row, "status": "finished", "metrics": {"reward": there}, "made": [made]}
    shipments.keep("t-1", FIRST, row, pack_folder(run, {f"{MADE}/0": learned}))
    [path] = bring_back_left(root, out).values()
    with Workspace.open(root) as ws:
        [model], [run_row] = ws.models(), ws.runs()
    assert (model["family"], model["metrics"], model["created"]) == ("preference",
                                                                     {"online_labels": 12}, 120.0)
    assert json.loads((Path(model["path"]) / "model.json").read_text()) == {
        "family": "preference"}
    assert run_row["metrics"]["reward"] == model["path"] != there
    assert json.loads((Path(path) / "policy" / "policy.json").read_text())["reward"] == (
        model["path"])
    assert not (Path(path) / MADE).exists()
