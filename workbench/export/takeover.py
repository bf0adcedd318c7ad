"""A person taking over from a policy the runner is driving, on any driver (torch-free).

The person's device sits beside the policy: while it is moved, its command replaces the
policy's for that tick (the safety filter still checks it), and hands off for ``release_ticks``
ticks in a row gives control back. Every tick the person commanded is counted and, with a log
path, written as one JSON line (tick, observation, the policy's action, the person's), the
corrective segments HIL-SERL-style training learns from.

Example:
    >>> policy = Takeover(gamepad_device(labels), log_path=Path("takeover.jsonl")).wrap(policy)
    >>> run_twin(policy, driver, ...)  # the runner sees an ordinary policy
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# A device's reading: the person's command while they steer, None while hands are off.
Device = Callable[[], "np.ndarray | None"]


class Takeover:
    def __init__(self, device: Device, log_path: Path | None = None, release_ticks: int = 5):
        self.device, self.release_ticks = device, release_ticks
        self.log_path = log_path
        self._log: Any = None  # opened at the first steered tick, line-buffered
        self.human_ticks = self.ticks = 0
        self._idle = release_ticks  # ticks since the person last moved the device
        self._last: np.ndarray | None = None

    def wrap(self, policy: Any) -> TakenOverPolicy:
        return TakenOverPolicy(policy, self)

    def choose(self, observation: np.ndarray, action: np.ndarray) -> np.ndarray:
        """The person's command while they steer (or have just let go), else ``action``."""
        self.ticks += 1
        person = self.device()
        if person is not None:
            self._idle, self._last = 0, np.asarray(person, np.float64)
        else:
            self._idle += 1
        if self._last is None or self._idle >= self.release_ticks:
            return action
        self.human_ticks += 1
        if self.log_path is not None:  # opened once: this runs inside the control loop
            if self._log is None:
                self._log = self.log_path.open("a", buffering=1)
            self._log.write(json.dumps({
                "tick": self.ticks, "observation": np.asarray(observation).tolist(),
                "policy": np.asarray(action).tolist(), "person": self._last.tolist()}) + "\n")
        return self._last.copy()


class TakenOverPolicy:
    """A runner policy (``act``, ``meta``, ``obs_dim``, ``act_dim``) whose actions a person
    may replace."""

    def __init__(self, policy: Any, takeover: Takeover):
        self.policy, self.takeover = policy, takeover
        self.meta, self.obs_dim, self.act_dim = policy.meta, policy.obs_dim, policy.act_dim

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.takeover.choose(observation, self.policy.act(observation))


def gamepad_device(labels: tuple[str, ...], require_device: bool = True) -> Device:
    """The first gamepad SDL sees (workbench/teleop/gamepad.py's layout), steering while a
    stick is out of its dead zone or a button was pressed since the last tick. End-effector
    bundles only: a one-line error names the bundle's actions otherwise."""
    from workbench.teleop.gamepad import GamepadReader, GamepadTeleop

    pad = GamepadTeleop(tuple(labels))
    reader = GamepadReader(pad, require_device=require_device)

    def read() -> np.ndarray | None:
        before = (pad.gripper_open, pad.speed)
        action = reader.poll()
        moved = np.any(pad.twist().linear != 0.0) or (pad.gripper_open, pad.speed) != before
        return action if moved else None

    return read
