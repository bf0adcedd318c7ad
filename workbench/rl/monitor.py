"""Guard against reward hacking: watch the learned (proxy) return against the scene's ground
truth while a policy trains, raise an alarm when they part ways, stop, and roll back to the
best policy by that truth.

Every scene carries ground truth, so the monitor can use what a real deployment never has. Its
first witness is true success. Given ``evaluate``, that is the success of the policy's mean
action (the one a bundle runs) on fixed evaluation episodes every ``eval_every`` updates;
without it, of the recent training episodes. The exploring policy is a poor witness: on Push its
success can fall for tens of updates while its mean action improves, so watching it stopped good
runs (docs/BENCHMARKS.md, "the reward-hacking guard on Push").

Success is a poor witness where it stays rare: a hopper learning to stand from 100 labels rose
from a reference return of 32 to 158 and, with its labels spent, fell back to 55 while the
learned return doubled, and never once succeeded, so a guard armed by success never watched. The
second witness, given ``return_scale`` (the most an episode's reference reward can pay), is the
scene's reference return on the same episodes; it watches only while success has not armed the
first, and only once its best lies ``return_arm`` of that scale above the lowest it had been
before, so that an imperfect early reward does not stop a run that has learned nothing yet.

The alarm rule, the same for both: the proxy return has held its level (at most ``proxy_hold``
below its value at the witness's best checkpoint) while the witness has lost ``drop`` of what it
had gained (success from 0, the return from its lowest before its best; at least ``min_drop`` of
success), for ``patience`` checks in a row. Until 2026-12-07 the proxy had to rise a further
10% above its value at the best: a hopper whose reference return rose with its learned return
to a best, then halved while the learned return stayed at its height, rang nothing (a proxy
that falls with the truth still rings nothing: the policy got worse, the reward did not lie).
Given ``confirm``, such a suspicion rings only once
the fall holds on fresh episodes, measured for the best checkpoint's policy and the current
one alike: the best is the highest of many noisy checks, so it overstates its policy (the
winner's curse), and a walker taught its forward speed was stopped by a best of 4 successes in
10 episodes whose policy succeeded in 1 of 40 (docs/BENCHMARKS.md). Where the fall does not hold,
the witness's best becomes what its policy measured and its strikes start again.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.rl.ppo import TrainProgress

SUCCESS, RETURN = "true success", "reference return"


@dataclass
class HackingAlarm:
    step: int
    best_step: int
    best: float  # the witness at its best checkpoint ...
    value: float  # ... and when the alarm was raised
    proxy: float
    best_proxy: float
    witness: str = SUCCESS
    # The witness measured again on fresh episodes, for the best policy and the current one
    # (None: unconfirmed).
    confirmed: tuple[float, float] | None = None

    def __str__(self) -> str:
        shown = ((lambda v: f"{v:.0%}") if self.witness == SUCCESS else (lambda v: f"{v:.1f}"))
        again = ("" if self.confirmed is None else f"; on fresh episodes "
                 f"{shown(self.confirmed[1])} against the best policy's {shown(self.confirmed[0])}")
        return (
            f"reward hacking suspected at step {self.step}: learned return {self.proxy:.1f} "
            f"(was {self.best_proxy:.1f} at the best checkpoint) while {self.witness} fell to "
            f"{shown(self.value)} from {shown(self.best)} (step {self.best_step}){again}"
        )


@dataclass
class Witness:
    """One measure of ground truth, smoothed across checks, and the policy at its best."""

    low: float | None = None  # its lowest smoothed value after the warm-up ...
    base: float | None = None  # ... before its best
    best: float | None = None
    best_step: int = 0
    best_proxy: float = 0.0
    best_state: dict[str, Any] | None = None
    strikes: int = 0
    smoothed: float | None = None

    def smooth(self, value: float, smoothing: float) -> float:
        self.smoothed = value if self.smoothed is None else (
            smoothing * self.smoothed + (1 - smoothing) * value)
        return self.smoothed

    def improved(self, progress: TrainProgress) -> bool:
        """Keep the policy if this is the best check yet (True)."""
        value = self.smoothed
        if value is None or progress.policy is None:
            return False
        self.low = value if self.low is None else min(self.low, value)
        if self.best is not None and value <= self.best:
            return False
        self.best, self.base, self.best_step = value, self.low, progress.step
        self.best_proxy, self.strikes = progress.learned_return, 0
        self.best_state = copy.deepcopy(progress.policy.state_dict())
        return True

    def strike(self, lost: float, proxy: float, proxy_hold: float) -> int:
        """Count a check at which the witness is ``lost`` below its best while the proxy held."""
        fell = (self.best is not None and self.smoothed is not None
                and self.smoothed <= self.best - lost)
        held = proxy >= self.best_proxy - proxy_hold * abs(self.best_proxy)
        self.strikes = self.strikes + 1 if (fell and held) else 0
        return self.strikes

    def alarm(self, progress: TrainProgress, name: str,
              confirmed: tuple[float, float] | None = None) -> HackingAlarm:
        return HackingAlarm(progress.step, self.best_step, self.best or 0.0, self.smoothed or 0.0,
                            progress.learned_return, self.best_proxy, name, confirmed)


@dataclass
class RewardHackingMonitor:
    """A training callback (``train_ppo(..., callbacks=(monitor,))``)."""

    drop: float = 0.5  # share of what the witness gained that it must lose to count
    min_drop: float = 0.1  # ... and for success at least this much in absolute terms
    proxy_hold: float = 0.1  # the proxy may lie this much (relative) below its value at the best
    arm_at: float = 0.15  # watch success only once it has reached this
    # The most an episode's reference reward pays (None: success is the only witness), and the
    # share of it by which the return's best must lie above its lowest before it is watched.
    return_scale: float | None = None
    return_arm: float = 0.1
    smoothing: float = 0.5  # exponential smoothing of each witness across checks
    patience: int = 2
    warmup_updates: int = 5
    stop_on_alarm: bool = True
    # The policy's true success and reference return on fixed episodes (evaluate_policy's
    # dict); None: the training episodes'.
    evaluate: Callable[[Any], dict[str, float]] | None = None
    eval_every: int = 4  # updates between evaluations
    # The same measures on fresh episodes, asked of the best policy and the current one before
    # an alarm rings (None: it rings unconfirmed).
    confirm: Callable[[Any], dict[str, float]] | None = None
    success: Witness = field(default_factory=Witness)
    reference: Witness = field(default_factory=Witness)
    alarm: HackingAlarm | None = None
    history: list[dict[str, float]] = field(default_factory=list)

    def __call__(self, progress: TrainProgress) -> bool:
        if self.evaluate is None:
            rate, ret = progress.success_rate, progress.reference_return
        elif (progress.update > self.warmup_updates and progress.policy is not None
              and progress.update % self.eval_every == 0):
            evaluation = self.evaluate(progress.policy)
            rate, ret = evaluation["success_rate"], evaluation["mean_return"]
            progress.extras["monitor/eval_success"] = rate
            progress.extras["monitor/eval_return"] = ret
        else:
            return True  # no evaluation at this update
        success = self.success.smooth(float(rate), self.smoothing)
        smoothed_return = self.reference.smooth(float(ret), self.smoothing)
        self.history.append({"step": progress.step, "proxy": progress.learned_return,
                             "success": float(rate), "smoothed_success": success,
                             "return": float(ret), "smoothed_return": smoothed_return})
        progress.extras["monitor/smoothed_success"] = success
        progress.extras["monitor/smoothed_return"] = smoothed_return
        if progress.update <= self.warmup_updates:
            return True
        self.reference.improved(progress)  # a new best of either resets its strikes
        if self.success.improved(progress) or self.alarm is not None:
            return True
        if self._armed(self.success, SUCCESS):
            witness, name = self.success, SUCCESS
        elif self._armed(self.reference, RETURN):
            witness, name = self.reference, RETURN
        else:
            return True  # neither witness is armed
        lost = self._lost(witness, name)
        if witness.strike(lost, progress.learned_return, self.proxy_hold) < self.patience:
            return True
        confirmed = None
        if self.confirm is not None:
            confirmed = self._measure_again(witness, name, lost, progress)
            if confirmed is None:
                return True
        self.alarm = witness.alarm(progress, name, confirmed)
        progress.extras["monitor/alarm"] = 1.0
        return not self.stop_on_alarm

    def _armed(self, witness: Witness, name: str) -> bool:
        """Whether ``witness`` is watched."""
        best = witness.best
        if name == SUCCESS:
            return best is not None and best >= self.arm_at
        base = witness.base
        return (self.return_scale is not None and best is not None and base is not None
                and best - base >= self.return_arm * self.return_scale)

    def _lost(self, witness: Witness, name: str) -> float:
        """How far below its best the witness must fall to count."""
        best = witness.best or 0.0
        if name == SUCCESS:
            return max(self.min_drop, self.drop * best)
        return self.drop * (best - (witness.base or 0.0))

    def _measure_again(self, witness: Witness, name: str, lost: float, progress: TrainProgress
                       ) -> tuple[float, float] | None:
        """The witness for the best policy and the current one on fresh episodes, where the
        current one lies ``lost`` below the best there too; else None, the witness's best
        becoming what its policy measured."""
        assert self.confirm is not None and witness.best_state is not None
        key = "success_rate" if name == SUCCESS else "mean_return"
        best_policy = copy.deepcopy(progress.policy)
        best_policy.load_state_dict(witness.best_state)
        then = float(self.confirm(best_policy)[key])
        now = float(self.confirm(progress.policy)[key])
        progress.extras.update({"monitor/confirm_best": then, "monitor/confirm_now": now})
        if now <= then - lost:
            return then, now
        witness.best, witness.strikes = then, 0
        return None

    @property
    def best_success(self) -> float:
        return -1.0 if self.success.best is None else self.success.best

    @property
    def kept(self) -> Witness:
        """The witness whose best policy a roll-back restores: the one that raised the alarm,
        true success where none was raised."""
        return self.reference if self.alarm is not None and self.alarm.witness == RETURN \
            else self.success

    @property
    def best_step(self) -> int:
        return self.kept.best_step

    # A stateful callback: exact checkpoints carry it (see workbench.rl.ppo.restore_callbacks).
    def get_state(self) -> dict[str, Any]:
        return {"success": asdict(self.success), "reference": asdict(self.reference),
                "alarm": None if self.alarm is None else asdict(self.alarm),
                "history": self.history}

    def set_state(self, state: dict[str, Any]) -> None:
        self.success, self.reference = Witness(**state["success"]), Witness(**state["reference"])
        alarm = state["alarm"]
        self.alarm = None if alarm is None else HackingAlarm(**{
            **alarm, "confirmed": tuple(alarm["confirmed"]) if alarm.get("confirmed") else None})
        self.history = list(state["history"])

    def roll_back(self, policy) -> bool:
        """Load the kept witness's best checkpoint into ``policy``; True if there was one."""
        if self.kept.best_state is None:
            return False
        policy.load_state_dict(self.kept.best_state)
        return True
