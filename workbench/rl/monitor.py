"""Guard against reward hacking: watch the learned (proxy) return against the scene's true
success while a policy trains, raise an alarm when they part ways, stop, and roll back to the
best policy by true success.

Every scene carries ground truth, so the monitor can use what a real deployment never has: the
true success rate. Given ``evaluate``, it is the success of the policy's mean action (the one a
bundle runs) on fixed evaluation episodes every ``eval_every`` updates; without it, of the
recent training episodes. The exploring policy is a poor witness: on Push its success can fall
for tens of updates while its mean action improves, so watching it stopped good runs
(docs/BENCHMARKS.md, "the reward-hacking guard on Push"). The alarm rule: the proxy return has kept
rising (``proxy_gain`` above its value at the best checkpoint) while true success has fallen
``drop`` below its best, for ``patience`` checks in a row. Disagreement of a reward ensemble and
the variance of the learned reward under the current policy are logged beside it when
available.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from workbench.rl.ppo import TrainProgress


@dataclass
class HackingAlarm:
    step: int
    best_step: int
    best_success: float
    success: float
    proxy: float
    best_proxy: float

    def __str__(self) -> str:
        return (
            f"reward hacking suspected at step {self.step}: learned return {self.proxy:.1f} "
            f"(was {self.best_proxy:.1f} at the best checkpoint) while true success fell to "
            f"{self.success:.0%} from {self.best_success:.0%} (step {self.best_step})"
        )


@dataclass
class RewardHackingMonitor:
    """A training callback (``train_ppo(..., callbacks=(monitor,))``)."""

    drop: float = 0.5  # relative fall of true success from its best that counts
    min_drop: float = 0.1  # ... and at least this much in absolute terms
    proxy_gain: float = 0.1  # the proxy must have risen this much (relative) since the best
    arm_at: float = 0.15  # watch only once true success has reached this
    smoothing: float = 0.5  # exponential smoothing of the success rate across updates
    patience: int = 2
    warmup_updates: int = 5
    stop_on_alarm: bool = True
    # The policy's true success on fixed episodes (None: the training episodes' success).
    evaluate: Callable[[Any], float] | None = None
    eval_every: int = 4  # updates between evaluations
    best_success: float = -1.0
    best_step: int = 0
    best_proxy: float = 0.0
    best_state: dict[str, Any] | None = None
    alarm: HackingAlarm | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    _strikes: int = 0
    _smoothed: float | None = None

    def __call__(self, progress: TrainProgress) -> bool:
        if self.evaluate is None:
            rate = progress.success_rate
        elif (progress.update > self.warmup_updates and progress.policy is not None
              and progress.update % self.eval_every == 0):
            rate = float(self.evaluate(progress.policy))
            progress.extras["monitor/eval_success"] = rate
        else:
            return True  # no evaluation at this update
        self._smoothed = rate if self._smoothed is None else (
            self.smoothing * self._smoothed + (1 - self.smoothing) * rate)
        success = self._smoothed
        self.history.append({"step": progress.step, "proxy": progress.learned_return,
                             "success": rate, "smoothed_success": success})
        progress.extras["monitor/smoothed_success"] = success
        if progress.update <= self.warmup_updates:
            return True
        if success > self.best_success and progress.policy is not None:
            self.best_success = success
            self.best_step = progress.step
            self.best_proxy = progress.learned_return
            self.best_state = copy.deepcopy(progress.policy.state_dict())
            self._strikes = 0
            return True
        if self.best_success < self.arm_at:
            return True
        margin = max(self.min_drop, self.drop * self.best_success)
        fell = success <= self.best_success - margin
        rose = progress.learned_return >= self.best_proxy + self.proxy_gain * abs(self.best_proxy)
        self._strikes = self._strikes + 1 if (fell and rose) else 0
        if self._strikes >= self.patience and self.alarm is None:
            self.alarm = HackingAlarm(progress.step, self.best_step, self.best_success,
                                      success, progress.learned_return, self.best_proxy)
            progress.extras["monitor/alarm"] = 1.0
            return not self.stop_on_alarm
        return True

    # A stateful callback: exact checkpoints carry it (see workbench.rl.ppo.restore_callbacks).
    def get_state(self) -> dict[str, Any]:
        return {"best_success": self.best_success, "best_step": self.best_step,
                "best_proxy": self.best_proxy, "best_state": self.best_state,
                "alarm": None if self.alarm is None else asdict(self.alarm),
                "history": self.history, "strikes": self._strikes, "smoothed": self._smoothed}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best_success, self.best_step = state["best_success"], state["best_step"]
        self.best_proxy, self.best_state = state["best_proxy"], state["best_state"]
        self.alarm = None if state["alarm"] is None else HackingAlarm(**state["alarm"])
        self.history = list(state["history"])
        self._strikes, self._smoothed = state["strikes"], state["smoothed"]

    def roll_back(self, policy) -> bool:
        """Load the best checkpoint by true success into ``policy``; True if there was one."""
        if self.best_state is None:
            return False
        policy.load_state_dict(self.best_state)
        return True

    def report(self) -> dict[str, Any]:
        proxies = np.array([h["proxy"] for h in self.history]) if self.history else np.zeros(1)
        return {
            "alarm": str(self.alarm) if self.alarm else None,
            "best_success": self.best_success,
            "best_step": self.best_step,
            "proxy_last": float(proxies[-1]),
        }
