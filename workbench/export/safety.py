"""The safety filter between a policy and a robot: every command passes through it.

Checks, in order, each logged as an intervention when it changes the command:
``estop`` (latched until reset: hold), ``watchdog`` (observations stale for longer than the
timeout: hold and ask the driver to stop), ``non_finite`` (NaN or Inf: hold), ``position``
(clip to limits), ``velocity`` and ``acceleration`` (limits on the command's first and second
differences over the control period). Holding means repeating the last safe command, which
for position-controlled joints keeps the robot where it is.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SafetyLimits:
    low: tuple[float, ...]
    high: tuple[float, ...]
    max_velocity: tuple[float, ...]  # command units per second
    max_acceleration: tuple[float, ...]  # command units per second squared
    watchdog_timeout: float = 0.2  # seconds without a fresh observation

    @classmethod
    def uniform(cls, dim: int, low=-1.0, high=1.0, velocity=25.0, acceleration=1000.0,
                watchdog_timeout=0.2) -> SafetyLimits:
        return cls((low,) * dim, (high,) * dim, (velocity,) * dim, (acceleration,) * dim,
                   watchdog_timeout)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SafetyLimits:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass
class Intervention:
    time: float
    step: int
    kind: str
    requested: list[float]
    sent: list[float]


@dataclass
class SafetyFilter:
    limits: SafetyLimits
    dt: float
    log_path: Path | None = None
    interventions: list[Intervention] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.low = np.asarray(self.limits.low, np.float64)
        self.high = np.asarray(self.limits.high, np.float64)
        self.max_step = np.asarray(self.limits.max_velocity, np.float64) * self.dt
        self.max_change = np.asarray(self.limits.max_acceleration, np.float64) * self.dt**2
        self.reset(np.clip(np.zeros_like(self.low), self.low, self.high))

    def reset(self, current: np.ndarray) -> None:
        """Start from the robot's current command (e.g. its measured joint positions)."""
        self.last = np.asarray(current, np.float64).copy()
        self.last_step = np.zeros_like(self.last)
        self.estopped = False
        self.steps = 0

    def estop(self) -> None:
        self.estopped = True

    def release(self) -> None:
        """Clear a latched emergency stop (a deliberate operator action)."""
        self.estopped = False

    def __call__(
        self, command: np.ndarray, observation_age: float = 0.0
    ) -> tuple[np.ndarray, bool]:
        """The command to send, and whether the robot must be stopped (watchdog or e-stop)."""
        self.steps += 1
        requested = np.asarray(command, np.float64).reshape(self.last.shape)
        if self.estopped:
            return self._hold(requested, "estop"), True
        if observation_age > self.limits.watchdog_timeout:
            return self._hold(requested, "watchdog"), True
        if not np.isfinite(requested).all():
            return self._hold(requested, "non_finite"), False
        safe = np.clip(requested, self.low, self.high)
        kinds = ["position"] if np.any(safe != requested) else []
        step = np.clip(safe - self.last, -self.max_step, self.max_step)
        if np.any(step != safe - self.last):
            kinds.append("velocity")
        limited = np.clip(step, self.last_step - self.max_change, self.last_step + self.max_change)
        limited = np.clip(limited, -self.max_step, self.max_step)
        if np.any(limited != step):
            kinds.append("acceleration")
        safe = np.clip(self.last + limited, self.low, self.high)
        for kind in kinds:
            self._log(kind, requested, safe)
        self.last_step = safe - self.last
        self.last = safe
        return safe.copy(), False

    def _hold(self, requested: np.ndarray, kind: str) -> np.ndarray:
        self._log(kind, requested, self.last)
        self.last_step = np.zeros_like(self.last)
        return self.last.copy()

    def _log(self, kind: str, requested: np.ndarray, sent: np.ndarray) -> None:
        record = Intervention(time.time(), self.steps, kind,
                              [float(x) for x in requested], [float(x) for x in sent])
        self.interventions.append(record)
        if self.log_path is not None:
            with open(self.log_path, "a") as handle:
                handle.write(json.dumps(asdict(record)) + "\n")

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for record in self.interventions:
            out[record.kind] = out.get(record.kind, 0) + 1
        return out
