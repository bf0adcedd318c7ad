"""What a sweep keeps so that it can go on after it was stopped: its plan (``sweep.json``: the
settings every trial starts from, the grid, the seeds and ASHA's parameters), each trial's
state in ``results.json``, and ASHA's rungs, rebuilt from the trials' curves.

A sweep stopped by hand goes on (``workbench sweep SCENE --resume FOLDER``) with the trials
the person stopped, each from its run's last checkpoint, and the ones that had not started;
those that finished, failed or were stopped by ASHA stay as they are. ASHA judges the trials
that go on against every score recorded at its rungs before, as it would have had the sweep
not been stopped. Tune's own restore is not used: it unpickles the experiment's state from
the sweep's folder, and no file is unpickled on load here; everything above is JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench import config as cfg
from workbench.config import ConfigError
from workbench.data.processes import alive_here
from workbench.rl.checkpoint import can_go_on
from workbench.rl.run_config import RunConfig

BY_ASHA = "ASHA early stopping"
BY_HAND = "stopped by hand"
LOST = "its sweep's process was lost"  # killed, or its machine: the trial's run stayed behind


def trial_key(trial: dict[str, Any]) -> str:
    """A trial's grid point and seed, as the report and the curves name it."""
    return f"{' '.join(trial['assignments'])} seed {trial['seed']}"


def state(trial: dict[str, Any]) -> str:
    """finished, failed, not started, or who stopped it."""
    if trial.get("error"):
        return "failed"
    if trial.get("finished"):
        return "finished"
    if not trial.get("started", True):
        return "not started"
    return str(trial.get("stopped_by") or "stopped early")


def goes_on(trial: dict[str, Any]) -> bool:
    """A trial a continued sweep runs: stopped by hand or with its sweep, or not started."""
    return state(trial) in (BY_HAND, LOST, "not started")


@dataclass(frozen=True)
class SweepPlan:
    """Every trial a sweep was asked for, and how ASHA judges them."""

    base: RunConfig
    combinations: tuple[tuple[str, ...], ...]
    seeds: tuple[int, ...]
    grace: int
    reduction: int

    @property
    def updates(self) -> int:
        ppo = self.base.ppo
        return max(1, ppo.total_steps // (ppo.num_envs * ppo.rollout_steps))

    def trials(self) -> list[dict[str, Any]]:
        return [{"assignments": list(a), "seed": s} for a in self.combinations
                for s in self.seeds]

    def save(self, out: Path) -> None:
        (out / "sweep.json").write_text(json.dumps({
            "base": cfg.to_dict(self.base), "combinations": [list(a) for a in self.combinations],
            "seeds": list(self.seeds), "grace": self.grace, "reduction": self.reduction},
            indent=1))

    @classmethod
    def load(cls, out: Path) -> SweepPlan:
        try:
            data = json.loads((out / "sweep.json").read_text())
            return cls(RunConfig.saved(data["base"]),
                       tuple(tuple(str(a) for a in c) for c in data["combinations"]),
                       tuple(int(s) for s in data["seeds"]), int(data["grace"]),
                       int(data["reduction"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"resume: {out} is not a sweep folder (its sweep.json: "
                              f"{error})") from None


def earlier_trials(out: Path, runs: list[dict[str, Any]], retry_failed: bool = False
                   ) -> list[dict[str, Any]]:
    """The trials a sweep's last fit left (``results.json``), and where its process was lost
    (killed, or its machine) before it wrote them, each trial's run as its worker noted it in
    ``trials/`` (``runs``: the workspace's rows); with ``retry_failed``, a trial that failed
    is to start again. Refused in one line while that process still runs, or when there is
    nothing to go on with."""
    try:
        results = json.loads((out / "results.json").read_text())
        trials = list(results["trials"])
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError(f"resume: {out} has no results to go on from ({error}); a sweep "
                          "writes them when it starts and when it ends") from None
    running = results.get("running")
    if _still_runs(running):
        raise ConfigError(f"resume: the sweep in {out} is still running (process "
                          f"{running['pid']}); stop it first (Ctrl-C, or Stop sweep)")
    if running is not None:
        trials = _recovered(trials, out, runs)
    if retry_failed:  # its run (row "failed") stays as it ended; a new one starts
        trials = [_not_started(t) if state(t) == "failed" else t for t in trials]
    if not any(goes_on(t) for t in trials):
        raise ConfigError(f"resume: every trial of {out} ended (finished, failed or stopped "
                          "by ASHA); nothing to go on with"
                          + ("" if retry_failed else " (--retry-failed runs failed ones again)"))
    return trials


def process_lost(out: Path) -> bool:
    """Whether the sweep in ``out`` lost its process: its results still name the process
    that ran it, and that process no longer runs it (it is dead, or let go of it)."""
    try:
        running = json.loads((out / "results.json").read_text()).get("running")
    except (OSError, ValueError):
        return False
    return running is not None and not _still_runs(running)


def _still_runs(running: dict[str, Any] | None) -> bool:
    return running is not None and not running.get("ended") and alive_here(running)


def _not_started(trial: dict[str, Any]) -> dict[str, Any]:
    return {**trial, "started": False, "finished": False, "score": None, "run": None,
            "curve": [], "by_update": [], "error": None, "stopped_run": None,
            "stopped_by": None}


def _recovered(trials: list[dict[str, Any]], out: Path, runs: list[dict[str, Any]]
               ) -> list[dict[str, Any]]:
    """The trials of a fit whose process was lost: its results list them as they were when
    it started; a trial it was to run whose worker noted a run since (or whose shipped run
    was brought back, :func:`~workbench.rl.sweep_shipments.bring_back_left`) is finished
    where the run finished, and goes on from the run's checkpoint where it has one, or in its
    folder from the start where it stored no update (else as it was: from the run it stopped
    in an earlier fit, or from the start)."""
    rows = {str(Path(r["path"]).resolve()): r for r in runs}
    noted = {key: seen["run"] for key, (_, seen) in newest_by_trial(out / "trials").items()}
    recovered = []
    for trial in trials:
        run = noted.get(trial_key(trial))
        row = rows.get(str(Path(run).resolve())) if run is not None else None
        if goes_on(trial) and run is not None and row is not None:
            if row["status"] == "finished":
                trial = {**trial, "started": True, "finished": True, "run": row["path"],
                         "score": float(row["metrics"].get("success_rate", 0.0))}
            elif row["status"] != "failed" and can_go_on(run):
                trial = {**trial, "started": True, "stopped_by": LOST, "stopped_run": run,
                         "score": None}
        recovered.append(trial)
    return recovered


def newest_by_trial(folder: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """The JSON notes in ``folder`` that name a trial (``"trial"``: its grid point and
    seed), the newest of each trial by its key: a trial runs under a new Tune id in each fit."""
    newest = {}
    for note in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
        seen = json.loads(note.read_text())
        if isinstance(seen, dict) and "trial" in seen:
            newest[trial_key(seen["trial"])] = (note, seen)
    return newest


def merged(plan: SweepPlan, earlier: list[dict[str, Any]], now: list[dict[str, Any]]
           ) -> list[dict[str, Any]]:
    """Every trial of the plan, in its order: as this fit left it (its curve after the
    earlier one where it resumed a run), else as an earlier fit left it, else not started."""
    before = {trial_key(t): t for t in earlier}
    after = {trial_key(t): t for t in now}
    trials = []
    for planned in plan.trials():
        key = trial_key(planned)
        old, new = before.get(key), after.get(key)
        if new is not None and old is not None and old.get("stopped_run"):  # it resumed
            new = {**new, "curve": _joined(old["curve"], new["curve"]),
                   "by_update": _joined(old["by_update"], new["by_update"])}
        trials.append(new or old or _not_started(planned))
    return trials


def _joined(first: list[Any], then: list[Any]) -> list[Any]:
    """Points by step (or update): a point logged again after a resume is the newer one."""
    return sorted({int(x): float(y) for x, y in [*first, *then]}.items())
