"""Sweeps in the app: where they run, their table, and trials run again or continued from the sweep
box."""

from __future__ import annotations

import pytest

from workbench.config import ConfigError
from workbench.rl.run_config import RunConfig


def test_a_sweep_runs_where_more_settings_name_the_cluster(window):
    """The trials run on the cluster "More settings" names and each steps its own envs, so a
    curriculum (refused for one run on a cluster) is a trial setting like any other."""
    train = window.panels["Train"]
    train.more.widget().widget("cluster").setText("auto")
    train.curriculum.setChecked(True)
    with pytest.raises(ConfigError, match="^cluster: curriculum"):
        train.run_config()  # one run stepping its envs on the cluster
    request = train.sweep.request()
    assert (request.cluster, request.config.cluster) == ("auto", "")
    assert request.config.curriculum and request.config.scene == window.session.scene


def test_the_sweep_table_shows_failed_trials_apart_from_scores(window, tmp_path):
    """A sweep whose trials failed (written by workbench.rl.sweep) shows their count and no
    score for a setting that has none; the status points at the report's errors."""
    from workbench.rl.sweep_report import rank, write_report
    from workbench.session.jobs import JobEvent

    trials = [{"assignments": [a], "seed": 1000, "finished": not e, "score": 0.5,
               "run": None, "curve": [(512, 0.5)], "error": e}
              for a, e in (("reward=reference", None), ("reward=sparse", "TypeError: boom"))]
    write_report(tmp_path, RunConfig(scene="Reach"), rank(trials), trials)
    sweep = window.panels["Train"].sweep
    said = "not every node sees the workspace, so Reach's recordings (0.1 MB) travel with"
    sweep._on_job("sweep", JobEvent("message", {"text": said}))
    assert sweep.status.text() == said
    sweep._on_job("sweep", JobEvent("done", {"report": str(tmp_path / "report.md")}))
    cells = [[sweep.table.item(r, c).text() for c in range(sweep.table.columnCount())]
             for r in range(sweep.table.rowCount())]
    assert cells == [["reward=reference", "0.50", "0.00", "1", "0", "0", "0"],
                     ["reward=sparse", "-", "-", "0", "0", "1", "0"]]
    assert "1 trials failed" in sweep.status.text()
    assert not sweep.go_on.isEnabled()  # nothing was stopped by hand
    assert not sweep.retry.isEnabled()  # a sweep without its plan cannot go on


def _a_sweep_in_the_workspace(window, plan, trials):
    """The folder of a sweep of ``plan`` that left ``trials``, as workbench.rl.sweep writes
    it."""
    from workbench.rl.sweep_report import rank, write_report
    from workbench.rl.sweep_state import merged

    trials = merged(plan, [], trials)
    out = window.session.context.workspace.root / "sweeps" / "sweep-Reach"
    out.mkdir(parents=True)
    plan.save(out)
    write_report(out, plan.base, rank(trials), trials)
    return out


def test_a_sweep_s_failed_trials_run_again_from_the_sweep_box(window, monkeypatch):
    """Once their cause is mended, Retry failed trials asks for the sweep to go on with its
    failed trials started again."""
    from workbench.rl.sweep_state import SweepPlan

    plan = SweepPlan(RunConfig(scene="Reach"), (("reward=sparse",),), (1000,), 2, 2)
    failed = {"assignments": ["reward=sparse"], "seed": 1000, "started": True,
              "finished": False, "score": 0.0, "run": None, "curve": [], "by_update": [],
              "error": "ConfigError: no reward model", "stopped_run": None, "stopped_by": None}
    out = _a_sweep_in_the_workspace(window, plan, [failed])
    sweep = window.panels["Train"].sweep
    sweep.show_newest()
    assert sweep.retry.isEnabled() and not sweep.go_on.isEnabled()
    asked = []
    monkeypatch.setattr(window.session.jobs, "submit", lambda name, req: asked.append(req))
    sweep.retry.click()
    [request] = asked
    assert (request.resume, request.retry_failed) == (out, True)
    request.check()
    assert not sweep.retry.isEnabled() and sweep.status.text().startswith("running the failed")


def test_a_sweep_stopped_by_hand_goes_on_from_the_sweep_box(window, monkeypatch):
    """The newest sweep of the workspace is shown when the app opens; where trials were
    stopped by hand or had not started, Continue sweep asks for the same sweep to go on."""
    from workbench.rl.sweep_state import BY_HAND, SweepPlan
    from workbench.session.jobs import JobEvent

    plan = SweepPlan(RunConfig(scene="Reach"), (("ppo.lr=1e-4",),), (1000, 1001), 2, 2)
    stopped = {"assignments": ["ppo.lr=1e-4"], "seed": 1000, "started": True,
               "finished": False, "score": 0.25, "run": None, "curve": [(512, 0.25)],
               "by_update": [(1, 0.25)], "error": None, "stopped_run": None,
               "stopped_by": BY_HAND}
    out = _a_sweep_in_the_workspace(window, plan, [stopped])
    sweep = window.panels["Train"].sweep
    sweep.show_newest()  # as the box does when it is made
    assert sweep.go_on.isEnabled() and sweep.status.text().startswith("newest sweep: ")
    assert not sweep.retry.isEnabled()  # none failed
    assert [sweep.table.item(0, c).text() for c in range(sweep.table.columnCount())] == [
        "ppo.lr=1e-4", "0.25", "0.00", "0", "1", "0", "1"]
    asked = []
    monkeypatch.setattr(window.session.jobs, "submit", lambda name, req: asked.append(req))
    sweep.go_on.click()
    [request] = asked
    assert (request.resume, request.config.scene, request.grid) == (out, "Reach", ())
    assert not request.retry_failed
    request.check()  # the settings are the sweep's own: nothing of the panel's is added
    assert not sweep.go_on.isEnabled()
    # The sweep that went on ends on an error (its cluster gone): it can go on again.
    sweep._on_job("sweep", JobEvent("error", {"message": "RuntimeError: cluster gone"}))
    assert sweep.go_on.isEnabled() and sweep.shown == out
    assert sweep.status.text() == "sweep failed: RuntimeError: cluster gone"
