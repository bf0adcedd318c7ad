"""Sweeps of training runs on Ray Tune: a grid of run settings crossed with seeds, ASHA early
stopping on true success, a ranked table and the learning curves.

Each trial is one training run (``train_run``) in its own Ray worker, writing its run folder and
row into the workspace as a run started by hand would (or into a copy on its node, where the
node does not see the workspace, whence the run comes back: ``trial_places``). It reports the
true success rate of its recent episodes after every PPO update, which is what ASHA compares
(Li et al., 2020: trials below the top 1/``reduction`` at a rung stop there). A finished
trial's score is the success of its final policy on the evaluation episodes; a stopped one's is
the last rate it reported. Settings are ranked by their mean score over the seeds whose trials
did not fail; a failed trial is counted and its error listed, never scored as a zero. A sweep
stopped by hand goes on later with the trials it stopped and those it had not started
(``sweep_state``).

The rest of a sweep, each in its own module: the grid (``sweep_grid``), ASHA that can go on
(``sweep_asha``), the trials' rows and the runs' labels when a fit ends (``sweep_rows``), the
shipped trials' runs (``sweep_shipments``), the desk where a Ray Client sweep's process
meets Tune's loop on the head (``sweep_desk``) and the report (``sweep_report``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import traceback
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from workbench import config as cfg
from workbench.data.processes import running_here
from workbench.data.workspace import Workspace
from workbench.progress import interrupt_asks_to_stop
from workbench.rl.checkpoint import can_go_on
from workbench.rl.run_config import RunConfig
from workbench.rl.sweep_grid import trial_config
from workbench.rl.sweep_report import going_on_command, let_go, rank, write_report
from workbench.rl.sweep_rows import error_line, label_stopped, trial_rows
from workbench.rl.sweep_state import BY_ASHA, BY_HAND, SweepPlan, goes_on, merged, trial_key
from workbench.rl.trial_places import noted_run

# Tune starts a trial again where its node or worker died; the trial then resumes its run
# from the run's last checkpoint (see trial_places). A trial's own error is reported as its
# result instead, so that it is not retried.
NODE_LOSSES = 3


def _trial(params: dict[str, Any]) -> None:
    """One training run of the sweep, in a Ray Tune worker; a trial started again after its
    node was lost, or going on after the sweep was stopped, goes on from its run's last
    checkpoint."""
    from ray import tune

    from workbench.rl.run import train_run
    from workbench.rl.trial_places import InPlace, Shipped

    trial_id = tune.get_context().get_trial_id()
    place = (Shipped if params.get("shipments") else InPlace)(params, trial_id)
    trial = params["trial"]
    try:
        place.open()  # a failure here is the trial's own too: reported, not retried
        config = trial_config(RunConfig.saved(params["base"]), trial["assignments"])
        # ASHA's rungs (2, 4, 8, ... updates by default) and a Stop end a trial after any
        # update, and Tune may end its worker before the next: a checkpoint after every update
        # (unless none was asked for) keeps each stopped run resumable from where it stopped.
        config = replace(config, checkpoint_every=min(config.checkpoint_every, 1),
                         ppo=replace(config.ppo, seed=int(trial["seed"])))
        config = place.local(config)
        earlier = place.earlier()
        # From its checkpoint, or from the start in its own folder if it stored no update.
        resume = earlier if earlier is not None and can_go_on(earlier) else None
        with Workspace.open(place.root) as ws:
            lost = ws.run_at(earlier) if earlier is not None and resume is None else None
            if lost is not None:  # lost with updates but no checkpoint: a new run starts
                ws.update_run(lost["id"], "stopped", {"stopped_by": "its node was lost"})

            def report(progress: Any) -> None:  # after the update's checkpoint is written
                place.reported(ws)
                tune.report({"success_rate": progress.success_rate, "step": progress.step,
                             "update": progress.update,
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


def run_sweep(workspace: Path, plan: SweepPlan, out: Path, cluster: str = "auto",
              progress: Any = None, shipped: tuple[bytes, dict[str, str]] | None = None,
              earlier: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Train every trial of ``plan`` (its grid points, checked by :func:`grid_assignments`,
    by its seeds) on Ray Tune; write ``out/report.md``, ``out/curves.svg`` and
    ``out/results.json``; return the ranking. ``earlier``: the trials of this sweep's last
    fit (:func:`~workbench.rl.sweep_state.earlier_trials`), to go on with those it stopped
    by hand or had not started.
    ``shipped``, for a cluster whose nodes do not all see the workspace: the recordings each
    trial unpacks on its node (``pack_recordings``) and the reward model folders the trials
    name, mapped to their names in that archive."""
    from ray import tune

    from workbench.rl.ray_rollouts import connect
    from workbench.rl.sweep_asha import SweepASHA
    from workbench.rl.sweep_desk import DeskCounts, DeskStop, fit_beside, open_desk
    from workbench.rl.sweep_shipments import bring_back, mirrored_here, start_shipments

    ray = connect(cluster)
    last_fit = {trial_key(t): t for t in earlier}
    todo = []  # every trial of a new sweep; of one that goes on, those stopped or not started
    for trial in plan.trials():
        last = last_fit.get(trial_key(trial))
        if last is None or goes_on(last):
            todo.append({**trial, "run": last.get("stopped_run") if last else None})
    going_on = {trial_key(t): t["run"] for t in todo if t["run"]}  # the runs they resume
    space: dict[str, Any] = {"trial": tune.grid_search(todo), "base": cfg.to_dict(plan.base),
                             "workspace": str(Path(workspace).resolve()),
                             "out": str(out.resolve())}
    shipments, models = None, dict[str, str]()
    if shipped is not None:
        recordings, models = shipped
        space["models"] = sorted(models.items())  # pairs: Tune reads a dict's keys as a space
        space["shipments"] = f"workbench-sweep-{out.name}-{uuid.uuid4().hex[:8]}"
        shipments = start_shipments(ray, recordings, space["shipments"], Path(workspace), out,
                                    models, going_on)

    pressed: list[bool] = []  # whether the person pressed Stop, once and for all

    def stop_asked() -> bool:
        if not pressed and progress is not None and progress.should_stop():
            pressed.append(True)
        return bool(pressed)

    def trials_done(count: int) -> None:  # of this fit's; the earlier fits' count as done
        if progress is not None:
            progress.emit("progress", stage="sweep", done=len(plan.trials()) - len(todo) + count,
                          total=len(plan.trials()))

    class Stop(tune.Stopper):  # the person pressed Stop: end every trial
        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            return self.stop_all()

        def stop_all(self) -> bool:
            return stop_asked()

    class Finished(tune.Callback):
        done = 0

        def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any,
                              **info: Any) -> None:
            self.done += 1
            trials_done(self.done)

    out.mkdir(parents=True, exist_ok=True)
    plan.save(out)
    # Until it ends, its results say the trials are to run and which process runs them, so
    # that a sweep whose process is lost can go on (its runs noted in trials/) and one that
    # runs is not continued beside itself.
    pending = merged(plan, list(earlier), [])
    write_report(out, plan.base, rank(pending), pending, Path(workspace), running_here())
    # Driven through Ray Client, Tune's loop runs on the head: its stopper, callback and
    # scheduler meet this process at a desk there, and its own files stay on the head (this
    # sweep's folder is not a path there).
    desk = open_desk()
    with _lets_go_on_error(out, Path(workspace), plan.base.scene, ray, (shipments, desk)):
        with Workspace.open(workspace) as ws:
            before = max((run["id"] for run in ws.runs()), default=0)
        asha = SweepASHA(plan, earlier, desk)
        fits = sum(1 for _ in out.glob("tune*")) if earlier else 0  # each continuation its own
        where: dict[str, Any] = ({"name": f"tune-{fits + 1}" if fits else "tune",
                                  "storage_path": str(out.resolve())} if desk is None else
                                 {"name": f"workbench-{out.name}-{uuid.uuid4().hex[:8]}"})
        tuner = tune.Tuner(
            tune.with_resources(_trial, {"cpu": 1}),
            param_space=space,
            tune_config=tune.TuneConfig(scheduler=asha),
            run_config=tune.RunConfig(
                **where, stop=Stop() if desk is None else DeskStop(desk),
                callbacks=[Finished() if desk is None else DeskCounts(desk)], verbose=0,
                failure_config=tune.FailureConfig(max_failures=NODE_LOSSES)),
        )
        # Tune's tables go to stderr (stdout is the result's), and its TensorBoard logger's note
        # on every trial (it drops the assignments, a list, from the hyperparameters) is muted.
        tbx = logging.getLogger("ray.tune.logger.tensorboardx")
        level = tbx.level
        tbx.setLevel(logging.WARNING)
        try:
            with contextlib.redirect_stdout(sys.stderr), _interrupt_stops(pressed, progress):
                if desk is None:
                    results = tuner.fit()
                else:
                    mirror = (mirrored_here(ray, shipments, out) if shipments is not None
                              else lambda: None)
                    results = fit_beside(tuner, desk, stop_asked, trials_done, mirror)
        finally:
            tbx.setLevel(level)
        stopped_by_asha = asha.stopped if desk is None else ray.get(desk.news.remote())[1]
        if desk is not None:
            ray.kill(desk)
        ids = [str((results[i].metrics or {}).get("trial_id")) for i in range(len(results))]
        by_hand = bool(pressed)
        labels = {}  # who stopped each trial that stopped before its end
        for i in range(len(results)):
            metrics = results[i].metrics or {}
            if results[i].config is not None and not results[i].error and metrics.get(
                    "final") != 1.0:
                labels[ids[i]] = (BY_HAND if by_hand and ids[i] not in stopped_by_asha
                                  else BY_ASHA)
        if shipments is not None:
            lost = {ids[i]: "its node was lost" for i in range(len(results)) if results[i].error}
            runs_here = bring_back(ray, shipments, Path(workspace), out, {**labels, **lost})
        else:
            runs = {}  # each trial's run, as its worker noted it
            for trial_id, label in labels.items():
                noted = noted_run(out, trial_id)
                if noted is not None:
                    runs[noted] = label
            label_stopped(workspace, before, runs, BY_HAND if by_hand else BY_ASHA)
            runs_here = {}
        trials = merged(plan, list(earlier), trial_rows(results, ids, runs_here, out, labels))
        ranking = rank(trials)
        write_report(out, plan.base, ranking, trials, Path(workspace))
        failed = [t for t in trials if t["error"]]
        if failed and progress is not None:  # the whole tracebacks stay in Tune's trial folders
            progress.emit("message", text=f"{len(failed)} of {len(trials)} trials failed; first: "
                          f"{' '.join(failed[0]['assignments'])} seed {failed[0]['seed']}: "
                          f"{failed[0]['error']} (all in {out / 'report.md'})")
        later = sum(goes_on(t) for t in trials)
        if later and progress is not None:
            progress.emit("message", text=f"{later} of {len(trials)} trials were stopped by "
                          "hand or had not started: "
                          f"`{going_on_command(plan.base.scene, out, Path(workspace))}` goes on "
                          "with them")
        return {"report": str(out / "report.md"), "ranking": ranking, "trials": len(trials),
                "going_on": later}


@contextlib.contextmanager
def _lets_go_on_error(out: Path, workspace: Path, scene: str, ray: Any,
                      actors: Sequence[Any]) -> Iterator[None]:
    """A sweep that ends on an error (its cluster gone, a bug) before it rewrote its results
    lets go of them, so that it goes on from what its trials left without this process
    ending first (the app's lives on); its ``actors`` (shipments, desk) are ended (the
    copies mirrored stay on this disk). A lost cluster (Ray's ConnectionError: its head
    gone, a Ray Client's link broken) is said in one line with the command that goes on."""
    try:
        yield
    except BaseException as error:
        for actor in actors:
            with contextlib.suppress(Exception):  # ended already, or its cluster is gone
                if actor is not None:
                    ray.kill(actor)
        let_go(out, workspace)
        if isinstance(error, ConnectionError):
            raise RuntimeError(
                f"cluster: the sweep lost its Ray cluster ({error_line(error)}); "
                f"`{going_on_command(scene, out, workspace)}` goes on with its trials from "
                "the runs they left") from None
        raise


@contextlib.contextmanager
def _interrupt_stops(pressed: list[bool], progress: Any) -> Iterator[None]:
    """Ctrl-C stops the sweep as the app's Stop does: every trial ends keeping its run, and
    the report says how to go on; a second Ctrl-C interrupts at once. Tune's own handler
    would end the trials alike but leave no sign that the person asked, and its message
    points at ``Tuner.restore``, which unpickles."""

    def said() -> None:
        if progress is not None:
            progress.emit("message", text="stopping every trial, each keeping its run "
                          "(Ctrl-C again interrupts at once)")

    tune_handler = os.environ.get("TUNE_DISABLE_SIGINT_HANDLER")
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    try:
        with interrupt_asks_to_stop(pressed, said):
            yield
    finally:
        if tune_handler is None:
            os.environ.pop("TUNE_DISABLE_SIGINT_HANDLER")
        else:
            os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = tune_handler


def map_trials(run: Any, configs: Sequence[dict[str, Any]], cluster: str = "auto",
               cpus: float = 1.0, name: str = "trials") -> list[dict[str, Any]]:
    """``[run(config) for config in configs]``, each call a Ray Tune trial of ``cpus`` CPUs, as
    many at once as the cluster holds: what the multi-seed benchmarks (PPO against SB3,
    preference against imitation) run their seeds through. ``run`` returns a JSON-able dict;
    results come back in the order of ``configs``. A failed trial raises, naming its config."""
    import tempfile

    from ray import tune
    from ray.util import client

    from workbench.rl.ray_rollouts import connect

    connect(cluster)
    # Through Ray Client, Tune's loop and its files are on the head: its default folder there.
    files = None if client.ray.is_connected() else tempfile.mkdtemp(prefix="tune-")

    def trial(params: dict[str, Any]) -> None:
        import torch

        torch.set_num_threads(max(1, int(cpus)))  # as many threads as the trial has CPUs
        config = {k: v for k, v in params["config"].items() if k != "index"}
        tune.report({"result": json.dumps(run(config))})

    indexed = [{"index": i, **config} for i, config in enumerate(configs)]
    tuner = tune.Tuner(
        tune.with_resources(trial, {"cpu": cpus}),
        param_space={"config": tune.grid_search(indexed)},
        run_config=tune.RunConfig(name=name, storage_path=files, verbose=0))
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
