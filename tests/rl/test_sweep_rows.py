"""A sweep's bookkeeping without a cluster: the runs ASHA or the person stopped (Tune ends
their worker process, so their rows still say "running", or its worker marks them interrupted)
are marked stopped by whoever stopped them, rows from before the sweep and live runs are left
alone; failed trials are counted apart and named in one line each."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.config import ConfigError
from workbench.data.processes import running_here
from workbench.data.transfer import OWNER, clear_abandoned
from workbench.data.workspace import Workspace
from workbench.rl.run import INTERRUPTED
from workbench.rl.run_config import RunConfig
from workbench.rl.sweep_grid import grid_assignments, trial_config
from workbench.rl.sweep_report import rank, write_report
from workbench.rl.sweep_rows import error_line, label_stopped
from workbench.rl.sweep_state import BY_HAND


def test_rows_left_running_by_a_sweep_are_marked_stopped(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = {"host": socket.gethostname(), "pid": int(gone.stdout)}
    alive = {"host": socket.gethostname(), "pid": os.getpid()}
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        older = ws.add_run("ppo-Reach", "Reach", tmp_path / "a", "running", dead)
        before = older
        stopped = ws.add_run("ppo-Reach", "Reach", tmp_path / "b", "running", dead)
        remote = ws.add_run("ppo-Reach", "Reach", tmp_path / "c", "running",
                            {"host": "another-node", "pid": 1})
        live = ws.add_run("ppo-Reach", "Reach", tmp_path / "d", "running", alive)
        done = ws.add_run("ppo-Reach", "Reach", tmp_path / "e", "finished", dead)
        # Tune ended it with SystemExit in its report, in a worker that lives on.
        interrupted = ws.add_run("ppo-Reach", "Reach", tmp_path / "f", "stopped",
                                 {"stopped_by": INTERRUPTED})
        by_hand = ws.add_run("ppo-Reach", "Reach", tmp_path / "g", "stopped",
                             {"stopped_by": "the Stop button"})
    assert label_stopped(tmp_path / "ws", before, {}) == [stopped, remote, interrupted]
    with Workspace.open(tmp_path / "ws") as ws:
        rows = {run["id"]: run for run in ws.runs()}
    assert rows[stopped]["status"] == rows[remote]["status"] == "stopped"
    assert rows[stopped]["metrics"]["stopped_by"] == "ASHA early stopping"
    assert rows[stopped]["metrics"]["pid"] == dead["pid"]  # the row keeps what it had
    assert rows[older]["status"] == rows[live]["status"] == "running"
    assert rows[done]["status"] == "finished"
    assert rows[interrupted]["metrics"]["stopped_by"] == "ASHA early stopping"
    assert rows[by_hand]["metrics"]["stopped_by"] == "the Stop button"


WRITES_ITS_ROW_LATE = """
import sys, time
from workbench.data.processes import running_here
from workbench.data.workspace import Workspace
from workbench.rl.run import INTERRUPTED
with Workspace.open(sys.argv[1]) as ws:
    run = ws.add_run("ppo-Reach", "Reach", sys.argv[2], "running", running_here())
print(run, flush=True)
time.sleep(1.0)  # Tune's SystemExit reaches the run a moment after the sweep has ended
with Workspace.open(sys.argv[1]) as ws:
    ws.update_run(run, "stopped", {"stopped_by": INTERRUPTED})
"""


def test_each_run_is_labelled_by_whoever_stopped_its_trial_once_its_worker_has_written(
        tmp_path):
    """A run that went on from an earlier fit of the sweep is older than the sweep's first
    new row and is labelled all the same; a worker still writing its row is waited for."""
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        went_on = ws.add_run("ppo-Reach", "Reach", tmp_path / "a", "stopped",
                             {"stopped_by": INTERRUPTED})
        before = ws.add_run("ppo-Reach", "Reach", tmp_path / "b", "stopped",
                            {"stopped_by": INTERRUPTED})  # not this sweep's: left alone
    worker = subprocess.Popen([sys.executable, "-c", WRITES_ITS_ROW_LATE, str(tmp_path / "ws"),
                               str(tmp_path / "c")], stdout=subprocess.PIPE, text=True)
    late = int(worker.stdout.readline())
    labels = {str(tmp_path / "a"): BY_HAND, str(tmp_path / "c"): BY_HAND}
    assert label_stopped(tmp_path / "ws", before, labels) == [went_on, late]
    worker.wait(timeout=30)
    with Workspace.open(tmp_path / "ws") as ws:
        rows = {run["id"]: run for run in ws.runs()}
    assert rows[went_on]["metrics"]["stopped_by"] == rows[late]["metrics"]["stopped_by"] == BY_HAND
    assert rows[before]["metrics"]["stopped_by"] == INTERRUPTED


def _trial(settings, seed, score, error=None, stopped_run=None, stopped_by=BY_HAND):
    finished = error is None and stopped_run is None
    return {"assignments": [settings], "seed": seed, "finished": finished, "score": score,
            "run": f"runs/{settings}-{seed}" if finished else None, "curve": [(512, score)],
            "by_update": [(1, score)], "error": error, "stopped_run": stopped_run,
            "stopped_by": None if finished or error else stopped_by}


def test_the_report_says_how_to_continue_each_run_stopped_early(tmp_path):
    trials = [_trial("ppo.lr=1e-4", 1000, 0.4), _trial("ppo.lr=1e-4", 1001, 0.1,
                                                         stopped_run="/ws/runs/ppo-Reach-2"),
              _trial("ppo.lr=3e-4", 1000, 0.0, "TypeError: boom")]
    write_report(tmp_path, RunConfig(scene="Reach"), rank(trials), trials, Path("/ws"))
    report = (tmp_path / "report.md").read_text()
    section = report.split("## Runs stopped early\n")[1]
    assert "`workbench train Reach --resume RUN --workspace /ws`" in section
    assert [line for line in section.splitlines() if line.startswith("- ")] == [
        "- `ppo.lr=1e-4` seed 1001 (stopped by hand): /ws/runs/ppo-Reach-2"]
    going_on = report.split("## Going on with this sweep\n")[1].split("##")[0]
    assert (f"1 of 3 trials were stopped by hand or had not started: `workbench sweep Reach "
            f"--resume {tmp_path} --workspace /ws` goes on with them") in going_on
    assert json.loads((tmp_path / "results.json").read_text())["going_on"] == 1
    trials[1] = _trial("ppo.lr=1e-4", 1001, 0.1)
    write_report(tmp_path, RunConfig(scene="Reach"), rank(trials), trials, Path("/ws"))
    report = (tmp_path / "report.md").read_text()
    assert "## Runs stopped early" not in report and "## Going on" not in report


def test_a_failed_trial_is_counted_apart_not_scored_as_zero(tmp_path):
    trials = [_trial("reward=sparse", 1000, 0.0, "TypeError: boom"),
              _trial("reward=sparse", 1001, 0.0, "TypeError: boom"),
              _trial("reward=reference", 1000, 0.2), _trial("reward=reference", 1001, 0.3),
              _trial("ppo.lr=1e-4", 1000, 0.4, "ValueError: diverged"),
              _trial("ppo.lr=1e-4", 1001, 0.1)]
    ranking = rank(trials)
    assert [row["settings"] for row in ranking] == ["reward=reference", "ppo.lr=1e-4",
                                                    "reward=sparse"]
    assert ranking[1]["mean_success"] == 0.1 and ranking[1]["failed"] == 1  # not (0.4 + 0.1) / 2
    assert ranking[2]["mean_success"] is None and ranking[2]["failed"] == 2
    base = RunConfig(scene="Reach", reward="reference", curriculum=True)
    write_report(tmp_path, base, ranking, trials)
    report = (tmp_path / "report.md").read_text()
    assert ("Every trial starts from the run defaults with `reward=reference` "
            "`curriculum=true`, and its grid point and seed change them.") in report
    assert "| 3 | `reward=sparse` | - | - | 2 | 0 | 0 | 2 | 0 |" in report
    assert "- `ppo.lr=1e-4` seed 1000: ValueError: diverged" in report


def test_a_trial_error_is_the_original_exception_in_one_line():
    from ray.exceptions import RayTaskError

    remote = RayTaskError("train", "Traceback (most recent call last):\n  File \"run.py\"\n"
                          "\x1b[36mTypeError: no state\x1b[39m", TypeError("no state"))
    assert error_line(remote) == "TypeError: no state"
    assert error_line(remote.as_instanceof_cause()) == "TypeError: no state"
    assert error_line(RuntimeError("first\n\x1b[31mlast line\x1b[0m")) == "RuntimeError: last line"
    assert error_line(RuntimeError()) == "RuntimeError"


@pytest.mark.parametrize(("args", "said"), [
    (["--grid", "ppo.lr=1e-4,3e-4"], "no reward model for Reach"),  # none fitted: "latest"
    (["--reward", "model", "--reward-model", "gone"], "--reward-model: {ws}/gone is not"),
    (["--grid", "reward=reference,gone"], "--grid: reward=gone: {ws}/gone is not"),
    (["--grid", "ppo.lr=1e-4,fast"], "--grid: 'ppo.lr=fast': lr expects float")])
def test_a_sweep_whose_reward_or_grid_is_wrong_is_refused_before_any_trial(tmp_path, capsys,
                                                                            args, said):
    """In one line naming the option at fault: every trial would fail the same way."""
    from workbench.cli.main import main

    workspace = tmp_path / "ws"
    code = main(["sweep", "Reach", *args, "--workspace", str(workspace)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(
        "workbench sweep: error: " + said.format(ws=workspace))
    assert not (workspace / "sweeps").exists()


def test_a_scratch_copy_left_by_a_killed_job_is_cleared_by_the_next_one_there(tmp_path):
    """A shipped sweep trial or reward fit whose node was killed could not remove its scratch
    workspace; the next one started on that machine does. A live job's copy, one whose owner
    is not written yet, another machine's (a shared temp folder) and other folders stay."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    here = socket.gethostname()
    owners = {"trial-dead": {"host": here, "pid": int(gone.stdout)},
              "task-dead": {"host": here, "pid": int(gone.stdout)}, "trial-live": running_here(),
              "trial-elsewhere": {"host": f"not-{here}", "pid": int(gone.stdout)},
              "trial-making": None}
    for name, owner in owners.items():
        (tmp_path / f"workbench-{name}" / "episodes").mkdir(parents=True)
        if owner is not None:
            (tmp_path / f"workbench-{name}" / OWNER).write_text(json.dumps(owner))
    (tmp_path / "someone-elses").mkdir()
    assert sorted(clear_abandoned(tmp_path)) == [tmp_path / "workbench-task-dead",
                                                 tmp_path / "workbench-trial-dead"]
    assert {p.name for p in tmp_path.iterdir()} == {
        *(f"workbench-trial-{name}" for name in ("elsewhere", "live", "making")),
        "someone-elses"}


@pytest.mark.parametrize("key", ["cluster", "rollout-actors", "cluster_retries"])
def test_a_grid_refuses_the_settings_a_trial_does_not_use(key):
    with pytest.raises(ConfigError, match=f"^grid: {key.replace('-', '_')} is not swept"):
        grid_assignments([f"{key}=1,2"], RunConfig(scene="Reach"))


@pytest.mark.parametrize(("grid", "said"), [
    (["ppo.lr=1e-4,3e-4", "ppo.lr=5e-4"], "grid: ppo.lr is given twice"),
    (["ppo.ent-coef=0", "ppo.ent_coef=0.01"], "grid: ppo.ent_coef is given twice"),
    (["ppo.lr=1e-4,1e-4"], "grid: 'ppo.lr=1e-4,1e-4' lists 1e-4 more than once")])
def test_a_grid_refuses_points_that_would_train_alike(grid, said):
    with pytest.raises(ConfigError, match=f"^{said}"):
        grid_assignments(grid, RunConfig(scene="Reach"))


def test_a_grid_compares_reward_models_by_folder_beside_named_rewards():
    base = RunConfig(scene="Reach", reward="model", reward_model="models/a")
    points = grid_assignments(["reward=reference,models/b,model", "ppo.lr=1e-4"], base)
    configs = [trial_config(base, point) for point in points]
    assert [(c.reward, c.reward_model, c.ppo.lr) for c in configs] == [
        ("reference", "", 1e-4), ("model", "models/b", 1e-4), ("model", "models/a", 1e-4)]


def test_the_report_links_each_filmed_trials_final_film_best_settings_first(tmp_path):
    out, runs = tmp_path / "sweeps" / "sweep-Reach-1", tmp_path / "runs"
    trials = [_trial("ppo.lr=1e-4", 1000, 0.2), _trial("ppo.lr=3e-4", 1000, 0.6),
              _trial("ppo.lr=3e-4", 1001, 0.4)]
    for trial in trials:
        trial["run"] = str(runs / f"{trial['assignments'][0]}-{trial['seed']}")
    for trial in trials[:2]:  # the third trial's run filmed nothing
        (Path(trial["run"]) / "films").mkdir(parents=True)
        (Path(trial["run"]) / "films" / "final.mp4").write_bytes(b"a film")
    out.mkdir(parents=True)
    write_report(out, RunConfig(scene="Reach"), rank(trials), trials)
    section = (out / "report.md").read_text().split("## Films\n")[1].split("##")[0]
    assert [line for line in section.splitlines() if line.startswith("- ")] == [
        "- 1. `ppo.lr=3e-4`: [ppo.lr=3e-4-1000](../../runs/ppo.lr=3e-4-1000/films/final.mp4)",
        "- 2. `ppo.lr=1e-4`: [ppo.lr=1e-4-1000](../../runs/ppo.lr=1e-4-1000/films/final.mp4)"]
    trials = [_trial("ppo.lr=1e-4", 1000, 0.2)]  # no films: no section
    write_report(out, RunConfig(scene="Reach"), rank(trials), trials)
    assert "## Films" not in (out / "report.md").read_text()
