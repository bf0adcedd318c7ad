"""A sweep that goes on after it was stopped, without a cluster: its plan read back, which
trials go on, their curves joined, ASHA's rungs rebuilt from the earlier curves, and the
command refused in one line where there is nothing to go on with."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from workbench import config as cfg
from workbench.config import ConfigError
from workbench.data.processes import running_here
from workbench.rl.checkpoint import run_checkpoint
from workbench.rl.run_config import RunConfig
from workbench.rl.sweep import _lets_go_on_error
from workbench.rl.sweep_asha import SweepASHA  # Ray's: the test command installs the extra
from workbench.rl.sweep_report import let_go, rank, write_report
from workbench.rl.sweep_state import (
    BY_ASHA,
    BY_HAND,
    LOST,
    SweepPlan,
    earlier_trials,
    merged,
    process_lost,
    state,
)

# Eight PPO updates a trial; rungs at updates 1, 2, 4 and 8.
PLAN = SweepPlan(cfg.override(RunConfig(scene="Reach"), [
    "ppo.num_envs=2", "ppo.rollout_steps=128", "ppo.total_steps=2048"]),
    (("ppo.lr=1e-4",), ("ppo.lr=3e-4",)), (1000, 1001), grace=1, reduction=2)


def _trial(lr, seed, by_update, state, run=None):
    return {"assignments": [f"ppo.lr={lr}"], "seed": seed, "started": True,
            "finished": state == "finished", "score": by_update[-1][1], "run": None,
            "curve": [(256 * u, r) for u, r in by_update], "by_update": by_update,
            "error": None, "stopped_run": run,
            "stopped_by": state if state in (BY_ASHA, BY_HAND) else None}


FINISHED = _trial("1e-4", 1000, [(1, .5), (2, .6), (4, .7), (8, .9)], "finished")
BY_ASHA_AT_2 = _trial("1e-4", 1001, [(1, .1), (2, .1)], BY_ASHA)
HAND = _trial("3e-4", 1000, [(1, .4), (2, .5), (3, .5)], BY_HAND, run="/ws/runs/ppo-Reach-3")
EARLIER = merged(PLAN, [], [FINISHED, BY_ASHA_AT_2, HAND])  # 3e-4 seed 1001: not started


def test_the_plan_reads_back_as_it_was_saved(tmp_path):
    PLAN.save(tmp_path)
    assert SweepPlan.load(tmp_path) == PLAN
    assert PLAN.updates == 8
    with pytest.raises(ConfigError, match=r"^resume: \S+ is not a sweep folder"):
        SweepPlan.load(tmp_path / "elsewhere")


def test_the_trials_not_started_are_listed_in_the_plan_s_order_and_counted_apart(tmp_path):
    assert [(t["assignments"], t["seed"]) for t in EARLIER] == [
        (["ppo.lr=1e-4"], 1000), (["ppo.lr=1e-4"], 1001), (["ppo.lr=3e-4"], 1000),
        (["ppo.lr=3e-4"], 1001)]
    assert EARLIER[3]["started"] is False and EARLIER[3]["score"] is None
    ranking = {row["settings"]: row for row in rank(EARLIER)}
    # The trial that never ran has no score: the mean is the stopped one's, not halved.
    assert ranking["ppo.lr=3e-4"]["mean_success"] == .5
    assert (ranking["ppo.lr=3e-4"]["stopped_early"], ranking["ppo.lr=3e-4"]["not_started"]) == (
        1, 1)
    write_report(tmp_path, PLAN.base, rank(EARLIER), EARLIER)
    assert earlier_trials(tmp_path, []) == json.loads(json.dumps(EARLIER))


def test_a_continued_trial_s_curve_goes_on_from_the_earlier_one():
    went_on = _trial("3e-4", 1000, [(3, .6), (4, .8), (8, 1.0)], "finished")  # from update 2
    trials = merged(PLAN, EARLIER, [went_on])
    assert trials[2]["by_update"] == [(1, .4), (2, .5), (3, .6), (4, .8), (8, 1.0)]
    assert trials[2]["curve"][-1] == (2048, 1.0) and trials[2]["finished"]
    assert trials[:2] == EARLIER[:2] and trials[3] == EARLIER[3]  # the others as they were
    # Stopped before its first checkpoint, a trial starts again: its curve is the new run's.
    unsaved = [*EARLIER[:2], {**HAND, "stopped_run": None}, EARLIER[3]]
    again = _trial("3e-4", 1000, [(1, .1), (2, .2)], BY_HAND)
    assert merged(PLAN, unsaved, [again])[2]["by_update"] == [(1, .1), (2, .2)]


def test_nothing_to_go_on_with_is_refused_in_one_line(tmp_path):
    done = merged(PLAN, [], [FINISHED, BY_ASHA_AT_2, *(
        _trial("3e-4", seed, [(1, .2)], "finished") for seed in (1000, 1001))])
    done[2] = {**done[2], "finished": False, "error": "ConfigError: no reward model"}
    write_report(tmp_path, PLAN.base, rank(done), done)
    with pytest.raises(ConfigError, match=r"^resume: every trial of \S+ ended \(finished, .*"
                                          r"\(--retry-failed runs failed ones again\)$"):
        earlier_trials(tmp_path, [])
    # Once its cause is mended, the failed trial starts again; the others stay as they were.
    again = earlier_trials(tmp_path, [], retry_failed=True)
    assert [state(t) for t in again] == ["finished", BY_ASHA, "not started", "finished"]
    assert (again[2]["error"], again[2]["assignments"], again[2]["seed"]) == (
        None, ["ppo.lr=3e-4"], 1000)


def test_a_sweep_still_running_is_not_continued_beside_itself(tmp_path):
    pending = merged(PLAN, [], [])
    write_report(tmp_path, PLAN.base, rank(pending), pending, running=running_here())
    assert "Running (process " in (tmp_path / "report.md").read_text()
    with pytest.raises(ConfigError, match=r"^resume: the sweep in \S+ is still running \("):
        earlier_trials(tmp_path, [])
    assert not process_lost(tmp_path)
    # Ended on an error in a process that lives on (the app's): it goes on as if it was lost.
    PLAN.save(tmp_path)
    let_go(tmp_path, tmp_path / "ws")
    assert process_lost(tmp_path)
    assert (tmp_path / "report.md").read_text().splitlines()[2].endswith(
        f"`workbench sweep Reach --resume {tmp_path} --workspace {tmp_path / 'ws'}` goes on "
        "with its trials from the runs they left.")
    assert [state(t) for t in earlier_trials(tmp_path, [])] == ["not started"] * 4


def test_a_sweep_that_loses_its_cluster_says_so_in_one_line_and_lets_go(tmp_path):
    """Its head gone or its Ray Client's link broken (Ray raises ConnectionError): the sweep
    ends its actors, lets go of its results and names the command that goes on; any other
    error passes as it was, after the same letting go."""
    killed: list[str] = []
    ray = SimpleNamespace(kill=killed.append)
    PLAN.save(tmp_path)

    def running_sweep_that_raises(error: BaseException) -> BaseException:
        pending = merged(PLAN, [], [])
        write_report(tmp_path, PLAN.base, rank(pending), pending, running=running_here())
        with pytest.raises(Exception) as raised:
            with _lets_go_on_error(tmp_path, tmp_path / "ws", PLAN.base.scene, ray,
                                   ("shipments", None)):
                raise error
        assert process_lost(tmp_path)  # let go of: it goes on as a sweep whose process died
        return raised.value

    lost = running_sweep_that_raises(ConnectionError(
        "Failed during this or a previous request.\nFailed to reconnect within the "
        "reconnection grace period (30s)"))
    assert isinstance(lost, RuntimeError) and str(lost) == (
        "cluster: the sweep lost its Ray cluster (ConnectionError: Failed to reconnect within "
        f"the reconnection grace period (30s)); `workbench sweep Reach --resume {tmp_path} "
        f"--workspace {tmp_path / 'ws'}` goes on with its trials from the runs they left")
    bug = KeyError("a bug")
    assert running_sweep_that_raises(bug) is bug
    assert killed == ["shipments", "shipments"]


def test_a_sweep_whose_process_was_lost_goes_on_from_the_runs_its_trials_noted(tmp_path):
    """Killed before it wrote its results, the sweep's results still list every trial as
    not started: a trial whose worker noted a run is finished where the run finished, goes
    on from the run's checkpoint where it has one, goes on in the run's folder where the run
    had stored no update (starting it over there, not in a new run beside an empty one), and
    starts again where it logged updates but kept no checkpoint (--checkpoint-every 0)."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pending = merged(PLAN, [], [])
    write_report(tmp_path, PLAN.base, rank(pending), pending,
                 running={**running_here(), "pid": int(gone.stdout)})
    runs = []
    for k, (trial, status) in enumerate(zip(PLAN.trials(), ("finished", "running", "running",
                                                            "running"), strict=True)):
        folder = tmp_path / "runs" / f"ppo-Reach-{k}"
        folder.mkdir(parents=True)
        (tmp_path / "trials").mkdir(exist_ok=True)
        (tmp_path / "trials" / f"trial-{k}.json").write_text(json.dumps(
            {"run": str(folder), "trial": trial}))
        runs.append({"path": str(folder), "status": status, "metrics": {"success_rate": .75}})
    run_checkpoint(runs[1]["path"]).write_bytes(b"")  # the second kept a checkpoint
    (tmp_path / "runs" / "ppo-Reach-2" / "metrics.jsonl").write_text(  # the third, no checkpoint
        '{"step": 0, "event": "rollout workers on the Ray cluster"}\n'
        '{"step": 256, "charts/success_rate": 0.0}\n')
    (tmp_path / "runs" / "ppo-Reach-3" / "metrics.jsonl").write_text(  # the fourth, no update
        '{"step": 0, "event": "rollout workers on the Ray cluster"}\n')
    trials = earlier_trials(tmp_path, runs)
    assert [state(t) for t in trials] == ["finished", LOST, "not started", LOST]
    assert (trials[0]["score"], trials[0]["run"]) == (.75, runs[0]["path"])
    assert [t["stopped_run"] for t in trials] == [None, runs[1]["path"], None, runs[3]["path"]]
    ranking = rank(trials)  # a lost trial has no score to average
    assert [(r["mean_success"], r["stopped_early"]) for r in ranking] == [(.75, 1), (None, 1)]


def _added(asha, lr, seed, trial_id):
    trial = SimpleNamespace(trial_id=trial_id,
                            config={"trial": {"assignments": [f"ppo.lr={lr}"], "seed": seed}})
    asha.on_trial_add(None, trial)
    return trial


def _judged(asha, trial, update, rate):
    return asha.on_trial_result(None, trial, {"update": update, "success_rate": rate})


def test_asha_goes_on_from_the_rungs_the_earlier_trials_reached():
    asha = SweepASHA(PLAN, EARLIER)
    # The trial stopped by hand passed rung 2 with 0.5: not judged there again, even at 0.0
    # (a fresh ASHA would compare 0.0 with rung 2's median of 0.6 and 0.1 and stop it).
    went_on = _added(asha, "3e-4", 1000, "new-1")
    assert _judged(asha, went_on, 3, 0.0) == "CONTINUE"
    # At rung 4 it meets the finished trial's 0.7 there.
    assert _judged(asha, went_on, 4, 0.2) == "STOP" and asha.stopped == {"new-1": 4}
    # The trial that had not started meets rung 1's and rung 2's earlier scores.
    fresh = _added(asha, "3e-4", 1001, "new-2")
    assert _judged(asha, fresh, 1, 0.45) == "CONTINUE"  # the median of 0.5, 0.1, 0.4: 0.4
    assert _judged(asha, fresh, 2, 0.45) == "STOP"  # of 0.6, 0.1, 0.5: 0.5


def test_a_trial_that_starts_its_run_again_is_judged_again():
    asha = SweepASHA(PLAN, [*EARLIER[:2], {**HAND, "stopped_run": None}, EARLIER[3]])
    again = _added(asha, "3e-4", 1000, "new-1")
    assert _judged(asha, again, 1, 0.0) == "STOP"  # rung 1's 0.5 and 0.1: its own 0.4 is gone


def test_without_earlier_trials_it_is_tune_s_asha_on_updates():
    asha = SweepASHA(PLAN)
    first, second = _added(asha, "1e-4", 1000, "a"), _added(asha, "1e-4", 1001, "b")
    assert _judged(asha, first, 1, 0.3) == "CONTINUE"
    assert _judged(asha, second, 1, 0.1) == "STOP" and asha.stopped == {"b": 1}
    # A grace beyond the budget (Tune would refuse it) stops no trial early.
    patient = SweepASHA(SweepPlan(PLAN.base, PLAN.combinations, PLAN.seeds, 50, 2))
    first, second = _added(patient, "1e-4", 1000, "a"), _added(patient, "1e-4", 1001, "b")
    assert [_judged(patient, t, u, r) for u in range(1, 9) for t, r in ((first, .9),
                                                                        (second, .0))] == [
        "CONTINUE"] * 16


@pytest.mark.parametrize("args, said", [
    (["--grid", "ppo.lr=1e-4,3e-4"], "leave out --grid"),
    (["--seeds", "3", "--ppo.lr", "0.001"], "leave out --seeds ppo.lr=0.001"),
])
def test_a_continued_sweep_refuses_settings_of_its_own(tmp_path, capsys, args, said):
    from workbench.cli.main import main

    code = main(["sweep", "Reach", "--resume", str(tmp_path), *args, "-w", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and said in err.strip().splitlines()[-1]


def test_retrying_failed_trials_needs_the_sweep_they_failed_in(tmp_path, capsys):
    from workbench.cli.main import main

    assert main(["sweep", "Reach", "--retry-failed", "-w", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        "error: --retry-failed: only with --resume SWEEP_FOLDER (the sweep whose failed trials run "
        "again)")


def test_continuing_a_folder_that_is_no_sweep_or_another_scene_s_is_refused(tmp_path, capsys):
    from workbench.cli.main import main

    code = main(["sweep", "Reach", "--resume", str(tmp_path / "no-sweep"), "-w",
                 str(tmp_path)])
    assert code == 2 and "is not a sweep folder" in capsys.readouterr().err
    PLAN.save(tmp_path)
    code = main(["sweep", "Push", "--resume", str(tmp_path), "-w", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and err.endswith(f"resume: {tmp_path} is a sweep on Reach, not on Push")


def test_a_trial_s_curve_takes_the_updates_its_run_logged_that_tune_did_not_hear(tmp_path):
    """Tune's stop can interrupt the report of an update the run has logged: the curve reads
    it from the run's log, keeps what Tune heard, and skips a line cut short by a kill."""
    from workbench.rl.sweep_rows import logged_by_run

    (tmp_path / "metrics.jsonl").write_text("".join(
        json.dumps({"step": 256 * u, "charts/success_rate": u / 10}) + "\n"
        for u in (1, 2, 3)) + json.dumps({"step": 768, "event": "a note"}) + '\n{"step": 10')
    by_step, by_update = {256: .1, 512: .2}, {1: .1, 2: .2}
    logged_by_run(str(tmp_path), 256, by_step, by_update)
    assert by_step == {256: .1, 512: .2, 768: .3} and by_update == {1: .1, 2: .2, 3: .3}
    logged_by_run(None, 256, by_step, by_update)  # a trial that noted no run
    logged_by_run(str(tmp_path / "gone"), 256, by_step, by_update)
    assert len(by_step) == 3
