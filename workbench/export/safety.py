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
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

MAX_WATCHDOG = 2.0  # seconds: a robot acting on older observations is not being watched


@dataclass(frozen=True)
class SafetyLimits:
    low: tuple[float, ...]
    high: tuple[float, ...]
    max_velocity: tuple[float, ...]  # command units per second
    max_acceleration: tuple[float, ...]  # command units per second squared
    watchdog_timeout: float = 0.2  # seconds without a fresh observation

    def __post_init__(self) -> None:
        """Limits come from a file someone else may have written: check them before anything
        moves (a NaN limit would let NaN commands through; an inverted one, anything)."""
        dim = len(self.low)
        for name in ("high", "max_velocity", "max_acceleration"):
            if len(getattr(self, name)) != dim:
                raise ValueError(f"safety.{name} has {len(getattr(self, name))} values; "
                                 f"safety.low has {dim}")
        for name in ("low", "high", "max_velocity", "max_acceleration"):
            values = getattr(self, name)
            if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
                raise ValueError(f"safety.{name} must be finite numbers, got {list(values)}")
        if any(lo >= hi for lo, hi in zip(self.low, self.high, strict=True)):
            raise ValueError(f"safety.low must be below safety.high in every dimension, got "
                             f"{list(self.low)} and {list(self.high)}")
        for name in ("max_velocity", "max_acceleration"):
            if any(v <= 0 for v in getattr(self, name)):
                raise ValueError(f"safety.{name} must be positive, got {list(getattr(self, name))}")
        if not (isinstance(self.watchdog_timeout, int | float)
                and 0 < self.watchdog_timeout <= MAX_WATCHDOG):
            raise ValueError(f"safety.watchdog_timeout must be in (0, {MAX_WATCHDOG}] seconds, "
                             f"got {self.watchdog_timeout}")

    def within(self, low: np.ndarray, high: np.ndarray) -> None:
        """Refuse position limits outside the range the actuators accept (the action space)."""
        if np.any(np.asarray(self.low) < low) or np.any(np.asarray(self.high) > high):
            raise ValueError(f"safety limits [{list(self.low)}, {list(self.high)}] reach outside "
                             f"the action range [{list(low)}, {list(high)}]")

    @classmethod
    def uniform(cls, dim: int, low=-1.0, high=1.0, velocity=25.0, acceleration=1000.0,
                watchdog_timeout=0.2) -> SafetyLimits:
        return cls((low,) * dim, (high,) * dim, (velocity,) * dim, (acceleration,) * dim,
                   watchdog_timeout)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SafetyLimits:
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) - known or not {"low", "high"} <= set(data):
            raise ValueError(f"the safety block must be an object with {', '.join(sorted(known))}"
                             f"; got {data!r:.200}")
        try:
            values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                      for k, v in data.items()}
            return cls(**values)
        except TypeError as exc:
            raise ValueError(f"the safety block is malformed: {exc}") from None


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
        # The step that keeps position, velocity and acceleration limits together; position
        # wins only where no step can keep all three (a command already at full speed towards
        # a limit it cannot brake for), and that is logged too.
        lowest = np.maximum(self.last_step - self.max_change, -self.max_step)
        highest = np.minimum(self.last_step + self.max_change, self.max_step)
        # No faster towards a limit than it can still brake for within the acceleration limit.
        highest = np.minimum(highest, self._braking_step(self.high - self.last))
        lowest = np.maximum(lowest, -self._braking_step(self.last - self.low))
        lowest = np.minimum(np.maximum(lowest, self.low - self.last), self.high - self.last)
        highest = np.maximum(np.minimum(highest, self.high - self.last), self.low - self.last)
        limited = np.clip(step, lowest, highest)
        if np.any(limited != step):
            kinds.append("acceleration")
        safe = np.clip(self.last + limited, self.low, self.high)
        for kind in kinds:
            self._log(kind, requested, safe)
        self.last_step = safe - self.last
        self.last = safe
        return safe.copy(), False

    def _braking_step(self, room: np.ndarray) -> np.ndarray:
        """The largest step after which ``room`` still suffices to stop, slowing by at most
        ``max_change`` per tick: s + (s - c) + (s - 2c) + ... <= room, i.e. s^2 + c s <= 2 c
        room, less c/8 of room for the rounding of that sum. A step of at most c that lands
        within the room is always safe (the next tick can stop), so the last approach ends on
        the limit rather than creeping towards it."""
        c = self.max_change
        room = np.maximum(room, 0.0)
        braking = (-c + np.sqrt(c * c + 8.0 * c * np.maximum(room - c / 8.0, 0.0))) / 2.0
        return np.maximum(braking, np.minimum(room, c))

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
