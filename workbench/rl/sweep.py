"""Sweeps of training runs on Ray Tune: a grid of run settings crossed with seeds, ASHA early
stopping on true success, a ranked table and the learning curves.

Each trial is one training run (``train_run``) in its own Ray worker, writing its run folder and
row into the workspace as a run started by hand would (or into a copy on its node, where the
node does not see the workspace, whence the run comes back: ``trial_places``). It reports the
true success rate of its recent episodes after every PPO update, which is what ASHA compares
(Li et al., 2020: trials below the top 1/``reduction`` at a rung stop there). A finished
trial's score is the success of its final policy on the evaluation episodes; a stopped one's is
the last rate it reported. Settings are ranked by their mean score over the seeds whose trials
did not fail; a failed trial is counted and its error listed, never scored as a zero.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import sys
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from workbench import config as cfg
from workbench.config import ConfigError
from workbench.data.processes import alive_here
from workbench.data.workspace import Workspace
from workbench.rl.checkpoint import run_checkpoint
from workbench.rl.run import INTERRUPTED
from workbench.rl.run_config import REWARDS, RunConfig

# RunConfig's fields a trial does not use: each trial steps its envs in its own worker, and
# the sweep's --cluster says where the trials run.
NOT_SWEPT = ("cluster", "rollout_actors", "cluster_retries")


def grid_assignments(grid: Sequence[str], base: RunConfig) -> list[tuple[str, ...]]:
    """``["ppo.lr=1e-4,3e-4", "reward=reference,sparse"]`` -> every combination as override
    assignments, each checked against ``base`` before anything starts."""
    axes = []
    for item in grid:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")  # as on the command line: ppo.ent-coef
        choices = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key or not choices:
            raise ConfigError(f"grid: {item!r} must be KEY=VALUE1,VALUE2,... "
                              "(ppo.lr=1e-4,3e-4)")
        if key == "ppo.seed":
            raise ConfigError("grid: seeds come from --seeds, not from the grid")
        if key in NOT_SWEPT:
            raise ConfigError(f"grid: {key} is not swept (each trial steps its envs in its "
                              "own worker); --cluster says where the trials run")
        axes.append([f"{key}={choice}" for choice in choices])
    combinations = [tuple(c) for c in itertools.product(*axes)]
    for assignments in combinations:
        # refuses an unknown key or a bad value, naming it
        if trial_config(base, assignments).algorithm != "ppo":
            raise ConfigError("algorithm: a sweep trains PPO (ASHA's rungs are PPO updates, "
                              "its seeds PPO's); train SAC runs one by one")
    return combinations


def trial_config(base: RunConfig, assignments: Sequence[str]) -> RunConfig:
    """``base`` with a grid point's assignments. ``reward=`` takes a reward's name or a reward
    model's folder (``reward=models/a,models/b`` compares two models; a relative folder is
    read from the workspace, as ``--reward-model``), and a name clears the base's model."""
    rest = []
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        if key.strip() != "reward":
            rest.append(assignment)
        elif value.strip() in REWARDS:
            keep = base.reward_model if value.strip() == "model" else ""
            base = replace(base, reward=value.strip(), reward_model=keep)
        else:
            base = replace(base, reward="model", reward_model=value.strip())
    return cfg.override(base, rest)


# Tune starts a trial again where its node or worker died; the trial then resumes its run
# from the run's last checkpoint (see trial_places). A trial's own error is reported as its
# result instead, so that it is not retried.
NODE_LOSSES = 3


def _trial(params: dict[str, Any]) -> None:
    """One training run of the sweep, in a Ray Tune worker; a trial started again after its
    node was lost goes on from its run's last checkpoint."""
    from ray import tune

    from workbench.rl.run import train_run
    from workbench.rl.trial_places import InPlace, Shipped

    trial_id = tune.get_context().get_trial_id()
    place = (Shipped if params.get("shipments") else InPlace)(params, trial_id)
    try:
        place.open()  # a failure here is the trial's own too: reported, not retried
        config = trial_config(RunConfig.saved(params["base"]), params["assignments"])
        config = place.local(replace(config, ppo=replace(config.ppo, seed=int(params["seed"]))))
        earlier = place.earlier()
        resume = earlier if earlier is not None and run_checkpoint(earlier).exists() else None
        with Workspace.open(place.root) as ws:
            if earlier is not None and resume is None:  # lost before its first checkpoint
                for run in ws.runs():
                    if Path(run["path"]) == earlier.resolve():
                        ws.update_run(run["id"], "stopped", {"stopped_by": "its node was lost"})

            def report(progress: Any) -> None:  # after the update's checkpoint is written
                place.reported(ws)
                tune.report({"success_rate": progress.success_rate, "step": progress.step,
                             "learned_return": progress.learned_return})

            result = train_run(ws, config, after_update=report, resume_dir=resume,
                               on_run_dir=place.began)
            place.reported(ws)
    except Exception as error:  # noqa: BLE001 - any error of the run's, kept for the report
        place.failed(place.as_here(traceback.format_exc()))
        tune.report({"success_rate": 0.0, "final": 1.0,
                     "error": place.as_here(error_line(error))})
        return
    finally:
        place.close()
    tune.report({"success_rate": result["success_rate"], "step": config.ppo.total_steps,
                 "final": 1.0, "run": result["path"]})


def run_sweep(workspace: Path, base: RunConfig, combinations: Sequence[tuple[str, ...]],
              seeds: int, out: Path, cluster: str = "auto", grace: int = 2, reduction: int = 2,
              progress: Any = None, shipped: tuple[bytes, dict[str, str]] | None = None
              ) -> dict[str, Any]:
    """Train every grid point (``combinations``, checked by :func:`grid_assignments`) with
    ``seeds`` seeds (1000, 1001, ...) on Ray Tune; write ``out/report.md``, ``out/curves.svg``
    and ``out/results.json``; return the ranking.
    ``shipped``, for a cluster whose nodes do not all see the workspace: the recordings each
    trial unpacks on its node (``pack_recordings``) and the reward model folders the trials
    name, mapped to their names in that archive."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from workbench.rl.ray_rollouts import connect
    from workbench.rl.trial_places import bring_back, start_shipments

    if seeds < 1:
        raise ConfigError(f"seeds must be at least 1, got {seeds}")
    ray = connect(cluster)
    updates = max(1, base.ppo.total_steps // (base.ppo.num_envs * base.ppo.rollout_steps))
    space: dict[str, Any] = {"assignments": tune.grid_search(list(combinations)),
                             "seed": tune.grid_search([1000 + i for i in range(seeds)]),
                             "base": cfg.to_dict(base),
                             "workspace": str(Path(workspace).resolve()),
                             "out": str(out.resolve())}
    shipments, models = None, dict[str, str]()
    if shipped is not None:
        recordings, models = shipped
        space["models"] = sorted(models.items())  # pairs: Tune reads a dict's keys as a space
        space["shipments"] = f"workbench-sweep-{out.name}-{uuid.uuid4().hex[:8]}"
        shipments = start_shipments(ray, recordings, space["shipments"])

    class Stop(tune.Stopper):  # the person pressed Stop: end every trial
        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            return self.stop_all()

        def stop_all(self) -> bool:
            return progress is not None and progress.should_stop()

    class Finished(tune.Callback):
        done = 0

        def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any,
                              **info: Any) -> None:
            self.done += 1
            if progress is not None:
                progress.emit("progress", stage="sweep", done=self.done,
                              total=len(combinations) * seeds)

    out.mkdir(parents=True, exist_ok=True)
    with Workspace.open(workspace) as ws:
        before = max((run["id"] for run in ws.runs()), default=0)
    tuner = tune.Tuner(
        tune.with_resources(_trial, {"cpu": 1}),
        param_space=space,
        tune_config=tune.TuneConfig(
            metric="success_rate", mode="max",
            scheduler=ASHAScheduler(time_attr="training_iteration", max_t=updates + 1,
                                    grace_period=grace, reduction_factor=reduction)),
        run_config=tune.RunConfig(name="tune", storage_path=str(out.resolve()), stop=Stop(),
                                  callbacks=[Finished()], verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=NODE_LOSSES)),
    )
    # Tune's tables go to stderr (stdout is the result's), and its TensorBoard logger's note
    # on every trial (it drops the assignments, a tuple, from the hyperparameters) is muted.
    tbx = logging.getLogger("ray.tune.logger.tensorboardx")
    level = tbx.level
    tbx.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            results = tuner.fit()
    finally:
        tbx.setLevel(level)
    ids = [str((results[i].metrics or {}).get("trial_id")) for i in range(len(results))]
    stopped_by = "stopped by hand" if Stop().stop_all() else "ASHA early stopping"
    if shipments is not None:
        lost = {ids[i] for i in range(len(results)) if results[i].error}
        runs_here = bring_back(ray, shipments, Path(workspace), out, lost, models, stopped_by)
        ray.kill(shipments)
    else:
        mark_early_stopped(workspace, before, stopped_by)
        runs_here = {}
    trials = _trial_rows(results, ids, runs_here, out)
    ranking = rank(trials)
    write_report(out, base, ranking, trials, Path(workspace))
    failed = [t for t in trials if t["error"]]
    if failed and progress is not None:  # the whole tracebacks stay in Tune's trial folders
        progress.emit("message", text=f"{len(failed)} of {len(trials)} trials failed; first: "
                      f"{' '.join(failed[0]['assignments'])} seed {failed[0]['seed']}: "
                      f"{failed[0]['error']} (all in {out / 'report.md'})")
    return {"report": str(out / "report.md"), "ranking": ranking, "trials": len(trials)}


def _trial_rows(results: Any, ids: list[str], runs_here: dict[str, str], out: Path
                ) -> list[dict[str, Any]]:
    """Each trial Tune ran: its grid point and seed, whether it finished, its score (its last
    success rate), its run in the workspace (finished, or stopped early with its checkpoint),
    its curve and its error."""
    trials = []
    for index in range(len(results)):
        result = results[index]
        if result.config is None:
            continue
        history = result.metrics_dataframe  # one row per report; the last may be the final
        if history is not None and "final" in history:
            history = history[history["final"] != 1.0]
        by_step = {}  # a trial that failed before its first report has none; one resumed
        # after a lost node reports again the steps since its last checkpoint: the newest
        if history is not None and {"step", "success_rate"} <= set(history.columns):
            by_step = {int(s): float(r) for s, r in zip(history["step"],
                                                        history["success_rate"], strict=True)}
        metrics = result.metrics or {}
        error = metrics.get("error") or (error_line(result.error) if result.error else None)
        finished = metrics.get("final") == 1.0 and not error
        # A run stopped early: shipped ones were brought back, in-place ones noted their folder.
        note = out / "trials" / f"{ids[index]}.json"
        stopped = runs_here.get(ids[index]) or (
            json.loads(note.read_text())["run"] if note.is_file() else None)
        trials.append({"assignments": list(result.config["assignments"]),
                       "seed": result.config["seed"], "finished": finished,
                       "score": float(metrics.get("success_rate", 0.0)),
                       "run": runs_here.get(ids[index], metrics.get("run"))
                       if metrics.get("run") else None, "curve": sorted(by_step.items()),
                       "error": error,
                       "stopped_run": stopped if not finished and not error and stopped
                       and run_checkpoint(stopped).exists() else None})
    return trials


def error_line(error: BaseException) -> str:
    """What went wrong in a trial, in one line: Ray wraps the trial's exception in its own,
    whose text is the whole remote traceback (with terminal colours)."""
    cause = getattr(error, "cause", None)  # ray.exceptions.RayTaskError keeps the original
    if isinstance(cause, BaseException):
        error = cause
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    message = re.sub(r"\x1b\[[0-9;]*m", "", lines[-1]) if lines else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def mark_early_stopped(workspace: Path, before: int, stopped_by: str = "ASHA early stopping"
                       ) -> list[int]:
    """Runs of this sweep that ASHA (or the person's Stop) stopped: Tune ends each with
    SystemExit in its report (its row says it was interrupted) or ends its worker process (its
    row still says "running"). Mark them stopped by ``stopped_by`` (they keep their
    checkpoints, so they resume like any stopped run), leaving any live run of this machine
    alone."""
    stopped = []
    with Workspace.open(workspace) as ws:
        for run in ws.runs():
            interrupted = (run["status"] == "stopped"
                           and run["metrics"].get("stopped_by") == INTERRUPTED)
            if run["id"] > before and (interrupted or run["status"] == "running"
                                       and not alive_here(run["metrics"])):
                ws.update_run(run["id"], "stopped", {**run["metrics"],
                                                     "stopped_by": stopped_by})
                stopped.append(run["id"])
    return stopped


def rank(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Settings by mean score over their seeds, best first."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for trial in trials:
        groups.setdefault(tuple(trial["assignments"]), []).append(trial)
    rows = []
    for assignments, group in groups.items():
        # A failed trial has no score: it is counted apart, not averaged in as a zero.
        scores = [t["score"] for t in group if not t["error"]]
        rows.append({"settings": " ".join(assignments) or "(base)",
                     "mean_success": float(np.mean(scores)) if scores else None,
                     "std": float(np.std(scores)) if scores else None,
                     "seeds": len(group), "finished": sum(t["finished"] for t in group),
                     "stopped_early": sum(not t["finished"] and not t["error"] for t in group),
                     "failed": sum(bool(t["error"]) for t in group),
                     "runs": [t["run"] for t in group if t["run"]]})
    # Settings whose every trial failed go last.
    return sorted(rows, key=lambda r: (r["mean_success"] is None, -(r["mean_success"] or 0.0),
                                       r["settings"]))


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def write_report(out: Path, base: RunConfig, ranking: list[dict[str, Any]],
                 trials: list[dict[str, Any]], workspace: Path | None = None) -> None:
    changed = cfg.differences(base, RunConfig(scene=base.scene))
    lines = [f"# Sweep on {base.scene}", "",
             f"{base.ppo.total_steps} steps a trial; ASHA on the true success rate; score: "
             "the final policy's evaluation success (a trial stopped early: its last rate).",
             "", "Every trial starts from the run defaults"
             + (" with " + " ".join(f"`{a}`" for a in changed) if changed else "")
             + ", and its grid point and seed change them.",
             "", "| rank | settings | mean success | std | seeds | finished | stopped early "
             "| failed |", "|---|---|---|---|---|---|---|---|"]
    for i, row in enumerate(ranking, start=1):
        lines.append(f"| {i} | `{row['settings']}` | {_score(row['mean_success'])} | "
                     f"{_score(row['std'])} | {row['seeds']} | {row['finished']} | "
                     f"{row['stopped_early']} | {row['failed']} |")
    lines += ["", "![learning curves](curves.svg)", ""]
    failed = [t for t in trials if t["error"]]
    if failed:
        lines += ["## Failed trials", "", "(whole tracebacks: `trials/`, one file a trial; "
                  "a trial whose worker was lost: `error.txt` in its folder under `tune/`)",
                  ""]
        lines += [f"- `{' '.join(t['assignments'])}` seed {t['seed']}: {t['error']}"
                  for t in failed]
        lines.append("")
    stopped = [t for t in trials if t.get("stopped_run")]
    if stopped:
        where = f" --workspace {workspace}" if workspace is not None else ""
        lines += ["## Runs stopped early", "",
                  "Stopped by ASHA or by hand, each keeps its checkpoint: continue one with "
                  f"`workbench train {base.scene} --resume RUN{where}` (the newest: the Train "
                  "panel's Continue stopped run).", ""]
        lines += [f"- `{' '.join(t['assignments'])}` seed {t['seed']}: {t['stopped_run']}"
                  for t in stopped]
        lines.append("")
    (out / "report.md").write_text("\n".join(lines))
    (out / "results.json").write_text(json.dumps({"ranking": ranking, "trials": trials},
                                                 indent=1))
    curves = {f"{' '.join(t['assignments'])} seed {t['seed']}": t["curve"] for t in trials}
    (out / "curves.svg").write_text(curves_svg(curves))


def curves_svg(curves: dict[str, list[tuple[float, float]]], width: int = 720,
               height: int = 360, x_label: str = "steps", y_label: str = "true success",
               y_range: tuple[float, float] | None = (0.0, 1.0)) -> str:
    """One polyline a curve (success against steps by default), as a standalone SVG;
    ``y_range=None`` fits the axis to the curves."""
    pad = 40
    steps = [s for curve in curves.values() for s, _ in curve] or [1]
    right = max(steps) or 1
    values = [v for curve in curves.values() for _, v in curve] or [0.0, 1.0]
    bottom, top = y_range or (min(values), max(values))
    span = (top - bottom) or 1.0

    def x(step: float) -> float:
        return pad + (width - 2 * pad) * step / right

    def y(value: float) -> float:
        return height - pad - (height - 2 * pad) * (value - bottom) / span

    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{pad}" y1="{y(bottom)}" x2="{width - pad}" y2="{y(bottom)}" '
             'stroke="black"/>',
             f'<line x1="{pad}" y1="{y(bottom)}" x2="{pad}" y2="{y(top)}" stroke="black"/>',
             f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle">{x_label} (to '
             f'{right:g})</text>',
             f'<text x="12" y="{height / 2}" transform="rotate(-90 12 {height / 2})" '
             f'text-anchor="middle">{y_label} ({bottom:g} to {top:g})</text>']
    for k, (label, curve) in enumerate(curves.items()):
        if curve:
            points = " ".join(f"{x(s):.1f},{y(r):.1f}" for s, r in curve)
            colour = colours[k % len(colours)]
            parts.append(f'<polyline fill="none" stroke="{colour}" points="{points}">'
                         f'<title>{label}</title></polyline>')
            if len(curves) <= len(colours):  # a legend, while each curve has its own colour
                parts.append(f'<text x="{pad + 8}" y="{pad + 14 * k}" fill="{colour}" '
                             f'font-size="11">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def map_trials(run: Any, configs: Sequence[dict[str, Any]], cluster: str = "auto",
               cpus: float = 1.0, name: str = "trials") -> list[dict[str, Any]]:
    """``[run(config) for config in configs]``, each call a Ray Tune trial of ``cpus`` CPUs, as
    many at once as the cluster holds: what the multi-seed benchmarks (PPO against SB3,
    preference against imitation) run their seeds through. ``run`` returns a JSON-able dict;
    results come back in the order of ``configs``. A failed trial raises, naming its config."""
    import tempfile

    from ray import tune

    from workbench.rl.ray_rollouts import connect

    connect(cluster)

    def trial(params: dict[str, Any]) -> None:
        import torch

        torch.set_num_threads(max(1, int(cpus)))  # as many threads as the trial has CPUs
        config = {k: v for k, v in params["config"].items() if k != "index"}
        tune.report({"result": json.dumps(run(config))})

    indexed = [{"index": i, **config} for i, config in enumerate(configs)]
    tuner = tune.Tuner(
        tune.with_resources(trial, {"cpu": cpus}),
        param_space={"config": tune.grid_search(indexed)},
        run_config=tune.RunConfig(name=name, storage_path=tempfile.mkdtemp(prefix="tune-"),
                                  verbose=0))
    with contextlib.redirect_stdout(sys.stderr):  # the callers print their results on stdout
        results = tuner.fit()
    found: dict[int, dict[str, Any]] = {}
    for index in range(len(results)):
        result = results[index]
        config = dict((result.config or {})["config"])
        number = config.pop("index")
        if result.error:
            raise RuntimeError(f"trial {config} failed: {error_line(result.error)}")
        found[number] = json.loads((result.metrics or {})["result"])
    return [found[i] for i in range(len(configs))]
