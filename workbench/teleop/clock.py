"""A fixed control rate for live teleoperation, and the loop that records at it.

A person's commands must reach the robot at the scene's control rate with no tick skipped:
:class:`ControlClock` sleeps to absolute deadlines (so small delays do not accumulate) and counts
the ticks it had to drop when a step ran past a whole period.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class ClockStats:
    ticks: int = 0
    dropped: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds past each deadline

    def summary(self) -> dict[str, float]:
        late = np.array(self.lateness or [0.0]) * 1e3
        return {"ticks": self.ticks, "dropped": self.dropped,
                "late_p50_ms": float(np.percentile(late, 50)),
                "late_p99_ms": float(np.percentile(late, 99)),
                "late_max_ms": float(late.max())}


class ControlClock:
    def __init__(self, hz: float, clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep):
        if hz <= 0:
            raise ValueError(f"the control rate must be positive, got {hz} Hz")
        self.period = 1.0 / hz
        self._clock, self._sleep = clock, sleep
        self._deadline: float | None = None
        self.stats = ClockStats()

    def wait(self) -> int:
        """Block until the next tick; returns how many ticks were dropped before it."""
        now = self._clock()
        if self._deadline is None:  # the first tick starts the schedule
            self._deadline = now + self.period
            self.stats.ticks += 1
            self.stats.lateness.append(0.0)
            return 0
        dropped = 0
        if now > self._deadline + self.period:  # a whole period late: those ticks are gone
            dropped = int((now - self._deadline) // self.period)
            self._deadline += dropped * self.period
        if now < self._deadline:
            self._sleep(self._deadline - now)
        self.stats.lateness.append(max(self._clock() - self._deadline, 0.0))
        self.stats.ticks += 1
        self.stats.dropped += dropped
        self._deadline += self.period
        return dropped


def record_live(recorder, poll: Callable[[], np.ndarray], seconds: float,
                seed: int | None = None, stop: Callable[[], bool] | None = None) -> ClockStats:
    """Record from a device at the env's control rate for ``seconds`` (or until ``stop()``).

    ``poll`` returns the device's current action (e.g. ``KeyboardTeleop.action`` or
    ``GamepadReader.poll``). The take is left open: call ``recorder.save()`` or ``discard()``.
    """
    env = recorder.env
    clock = ControlClock(1.0 / env.control_dt)
    recorder.start(seed=seed)
    for _ in range(round(seconds / env.control_dt)):
        clock.wait()
        # A live take runs until stopped: the scene's time limit (truncation) does not end it.
        _, _, terminated, _, _ = recorder.step(poll())
        if terminated or (stop is not None and stop()):
            break
    return clock.stats
