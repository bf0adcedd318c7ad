"""What a sweep's fit leaves: each trial's row for the results (its state, score, curve and
run), and the workspace's runs labelled by whoever stopped them. Tune ends a stopped trial's
worker (its row may still say "running") or interrupts its report (the update the run logged,
Tune did not hear), so both are read from the runs as well as from Tune."""

from __future__ import annotations

import contextlib
import json
import re
import time
from pathlib import Path
from typing import Any

from workbench.data.processes import alive_here
from workbench.data.workspace import Workspace
from workbench.rl.checkpoint import can_go_on
from workbench.rl.run import INTERRUPTED
from workbench.rl.run_config import RunConfig
from workbench.rl.sweep_grid import trial_config
from workbench.rl.sweep_state import BY_ASHA
from workbench.rl.trial_places import noted_run


def trial_rows(results: Any, ids: list[str], runs_here: dict[str, str], out: Path,
               labels: dict[str, str]) -> list[dict[str, Any]]:
    """Each trial Tune ran: its grid point and seed, whether it finished (else who stopped
    it), its score (its last success rate), its run in the workspace (finished, or stopped
    early with its checkpoint or before its first update), its curve (by step, and by update
    for ASHA) and its error."""
    trials = []
    for index in range(len(results)):
        result = results[index]
        if result.config is None:  # not started when the sweep was stopped
            continue
        history = result.metrics_dataframe  # one row per report; the last may be the final
        if history is not None and "final" in history:
            history = history[history["final"] != 1.0]
        by_step, by_update = {}, {}  # a trial that failed before its first report has none;
        # one resumed after a lost node reports again the steps since its last checkpoint
        if history is not None and {"step", "update", "success_rate"} <= set(history.columns):
            for step, update, rate in zip(history["step"], history["update"],
                                          history["success_rate"], strict=True):
                by_step[int(step)], by_update[int(update)] = float(rate), float(rate)
        metrics = result.metrics or {}
        error = metrics.get("error") or (error_line(result.error) if result.error else None)
        finished = metrics.get("final") == 1.0 and not error
        # A run stopped early: shipped ones were brought back, in-place ones noted their folder.
        stopped = runs_here.get(ids[index]) or noted_run(out, ids[index])
        trial = result.config["trial"]
        ppo = trial_config(RunConfig.saved(result.config["base"]), trial["assignments"]).ppo
        logged_by_run(stopped, ppo.num_envs * ppo.rollout_steps, by_step, by_update)
        score = metrics.get("success_rate", 0.0)
        if not finished and not error and by_step:  # its last rate, heard or not
            score = by_step[max(by_step)]
        trials.append({"assignments": list(trial["assignments"]), "seed": trial["seed"],
                       "started": True, "finished": finished, "score": float(score),
                       "run": runs_here.get(ids[index], metrics.get("run"))
                       if metrics.get("run") else None, "curve": sorted(by_step.items()),
                       "by_update": sorted(by_update.items()), "error": error,
                       "stopped_by": labels.get(ids[index]) if not finished and not error
                       else None,
                       "stopped_run": stopped if not finished and not error and stopped
                       and can_go_on(stopped) else None})
    return trials


def logged_by_run(run: str | None, batch: int, by_step: dict[int, float],
                   by_update: dict[int, float]) -> None:
    """Add to a trial's curve what its run logged and Tune did not hear: the update whose
    report Tune's stop interrupted (``batch``: steps per update)."""
    log = Path(run) / "metrics.jsonl" if run is not None else None
    if log is None or not log.is_file():
        return
    for line in log.read_text().splitlines():
        with contextlib.suppress(ValueError):  # a line cut short where the run was killed
            record = json.loads(line)
            if "charts/success_rate" in record:
                step, rate = int(record["step"]), float(record["charts/success_rate"])
                by_step.setdefault(step, rate)
                by_update.setdefault(step // batch, rate)


def error_line(error: BaseException) -> str:
    """What went wrong in a trial, in one line: Ray wraps the trial's exception in its own,
    whose text is the whole remote traceback (with terminal colours)."""
    cause = getattr(error, "cause", None)  # ray.exceptions.RayTaskError keeps the original
    if isinstance(cause, BaseException):
        error = cause
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    message = re.sub(r"\x1b\[[0-9;]*m", "", lines[-1]) if lines else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def live_writers(ws: Workspace, runs: list[str], patience: float) -> list[dict[str, Any]]:
    """Wait, up to ``patience`` seconds, until no live process of this machine trains any of
    ``runs`` (a stopped or orphaned trial's worker ends a moment after Tune or Ray tells it
    to); the rows still being written then."""
    folders = {str(Path(run).resolve()) for run in runs}
    deadline = time.monotonic() + patience
    while True:
        busy = [r for r in ws.runs() if str(Path(r["path"]).resolve()) in folders
                and r["status"] == "running" and alive_here(r["metrics"])]
        if not busy or time.monotonic() > deadline:
            return busy
        time.sleep(0.2)


def label_stopped(workspace: Path, before: int, labels: dict[str, str],
                  default: str = BY_ASHA, settle: float = 10.0) -> list[int]:
    """Runs of this sweep stopped before their end: Tune ends each with SystemExit in its
    report (its worker then marks the row stopped, "interrupted") or ends its worker process
    (the row still says "running"). Mark each stopped by whoever stopped it: ``labels`` by
    run folder (a run that went on from an earlier fit is older than the sweep), ``default``
    for the other runs made after row ``before``. A labelled run whose worker still lives is
    waited for, up to ``settle`` seconds, so that the label is the last word on its row; a
    live run of this machine is left alone. They keep their checkpoints: they resume like
    any stopped run."""
    named = {str(Path(path).resolve()): label for path, label in labels.items()}
    with Workspace.open(workspace) as ws:
        live_writers(ws, list(named), settle)
        rows = [run for run in ws.runs()
                if run["id"] > before or str(Path(run["path"]).resolve()) in named]
        stopped = []
        for run in rows:
            interrupted = (run["status"] == "stopped"
                           and run["metrics"].get("stopped_by") == INTERRUPTED)
            if interrupted or run["status"] == "running" and not alive_here(run["metrics"]):
                label = named.get(str(Path(run["path"]).resolve()), default)
                ws.update_run(run["id"], "stopped", {**run["metrics"], "stopped_by": label})
                stopped.append(run["id"])
    return stopped
