"""ASHA for a sweep that may go on after a stop: its rungs in PPO updates, the trials it
stopped remembered, and the rungs of an earlier fit recorded again before the next starts.
Imported where a sweep runs (Ray is an optional extra)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from ray.tune.schedulers import AsyncHyperBandScheduler, TrialScheduler

from workbench.rl.sweep_state import SweepPlan, goes_on, trial_key


class SweepASHA(AsyncHyperBandScheduler):
    """ASHA with its rungs in PPO updates (the ``update`` each trial reports, which goes on
    across a resume where Tune's iteration count starts again), that remembers which trials
    it stopped and starts from an earlier fit's rungs: the scores of ``earlier`` trials are
    recorded as they were reported, a trial that goes on under its own new id. ``desk``
    (a Ray Client sweep's, ``sweep_desk``): where it also notes each trial it stops, this
    scheduler being a copy in Tune's loop on the head."""

    def __init__(self, plan: SweepPlan, earlier: Sequence[dict[str, Any]] = (),
                 desk: Any = None):
        # The last update's report is the trial's to make, not a rung's: one past it. A grace
        # beyond the budget (which Tune refuses) means no rung: no trial is stopped early.
        super().__init__(time_attr="update", metric="success_rate", mode="max",
                         max_t=plan.updates + 1, grace_period=min(plan.grace, plan.updates + 1),
                         reduction_factor=plan.reduction)
        self.stopped: dict[str, int] = {}  # Tune's trial id -> the update ASHA stopped it at
        self.desk = desk
        # A trial that resumes its run carries its scores; one that starts again, none.
        self._going_on = {trial_key(t): t["by_update"] for t in earlier
                          if goes_on(t) and t.get("stopped_run")}
        for trial in earlier:
            if not goes_on(trial):
                self._replay(f"earlier: {trial_key(trial)}", trial["by_update"])

    def _replay(self, trial_id: str, curve: list[Any]) -> None:
        past = SimpleNamespace(trial_id=trial_id)  # all a bracket reads of a trial
        bracket = self._trial_info.get(trial_id, self._brackets[0])
        for update, rate in curve:
            bracket.on_result(past, int(update), float(rate))  # mode max: as reported

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        super().on_trial_add(tune_controller, trial)
        curve = self._going_on.get(trial_key(trial.config["trial"]))
        if curve:
            self._replay(trial.trial_id, curve)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        action = super().on_trial_result(tune_controller, trial, result)
        if action == TrialScheduler.STOP:
            self.stopped[trial.trial_id] = int(result.get(self._time_attr, 0))
            if self.desk is not None:
                self.desk.asha_stopped.remote(trial.trial_id, self.stopped[trial.trial_id])
        return action
