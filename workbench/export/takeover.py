"""A person taking over from a policy the runner is driving, on any driver (torch-free).

The person's device sits beside the policy: while it is moved, its command replaces the
policy's for that tick (the safety filter still checks it), and hands off for ``release_ticks``
ticks in a row gives control back. Every tick the person commanded is counted and, with a log
path, written as one JSON line (tick, episode, observation, the policy's action, the person's,
and the observation it led to), the corrective transitions HIL-SERL-style training learns
from (``workbench train --algorithm sac --takeovers --takeover-logs LOG``).

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
        self.episode = 0
        self.steering = False  # whether the person commanded the latest tick
        self._idle = release_ticks  # ticks since the person last moved the device
        self._last: np.ndarray | None = None
        # A steered tick is logged at the next tick, with the observation it led to: each line
        # is then a whole transition (SAC's --takeover-logs learns from them).
        self._pending: dict[str, Any] | None = None

    def wrap(self, policy: Any) -> TakenOverPolicy:
        return TakenOverPolicy(policy, self)

    def choose(self, observation: np.ndarray, action: np.ndarray) -> np.ndarray:
        """The person's command while they steer (or have just let go), else ``action``."""
        self.ticks += 1
        self._flush(observation)
        person = self.device()
        if person is not None:
            self._idle, self._last = 0, np.asarray(person, np.float64)
        else:
            self._idle += 1
        person = self._last
        self.steering = person is not None and self._idle < self.release_ticks
        if person is None or not self.steering:
            return action
        self.human_ticks += 1
        if self.log_path is not None:
            self._pending = {"tick": self.ticks, "episode": self.episode,
                             "observation": np.asarray(observation).tolist(),
                             "policy": np.asarray(action).tolist(), "person": person.tolist()}
        return person.copy()

    def new_episode(self) -> None:
        """The runner reset the robot or the scene: a steered last tick led to no next state."""
        self._flush(None)
        self.episode += 1

    def close(self) -> None:
        self._flush(None)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _flush(self, next_observation: np.ndarray | None) -> None:
        if self._pending is None or self.log_path is None:
            return
        if self._log is None:  # opened once: this runs inside the control loop
            self._log = self.log_path.open("a", buffering=1)
        self._pending["next_observation"] = (None if next_observation is None
                                             else np.asarray(next_observation).tolist())
        self._log.write(json.dumps(self._pending) + "\n")
        self._pending = None


class TakenOverPolicy:
    """A runner policy (``act``, ``meta``, ``obs_dim``, ``act_dim``) whose actions a person
    may replace."""

    def __init__(self, policy: Any, takeover: Takeover):
        self.policy, self.takeover = policy, takeover
        self.meta, self.obs_dim, self.act_dim = policy.meta, policy.obs_dim, policy.act_dim

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.takeover.choose(observation, self.policy.act(observation))


class RecordingSim:
    """A simulation driver that records every episode it runs into a workspace, storing per
    tick whether the person commanded it: the corrective episodes ``workbench train
    --algorithm sac --takeovers`` learns from (source ``takeover``). Without a take-over the
    episodes are the policy's own (source ``policy``): its failures are negatives a reward
    refit learns from, as the failed takes beside a demo are, and an episode cut short is
    dropped. Everything else is the wrapped :class:`~workbench.export.drivers.SimDriver`'s."""

    def __init__(self, driver: Any, workspace: Any, takeover: Takeover | None):
        from workbench.teleop.recorder import Recorder  # the workspace side, off the robot path

        self.driver, self.takeover = driver, takeover
        self.recorder = Recorder(driver.env, workspace,
                                 "policy" if takeover is None else "takeover")
        self.episode_ids: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.driver, name)

    def reset(self, seed: int) -> None:
        self._save()
        self.driver.obs, self.driver.info = self.recorder.start(seed=seed), {}
        self.driver.done = self.driver.stopped = False

    def send(self, command: np.ndarray) -> None:
        human = self.takeover is not None and self.takeover.steering
        obs, _, terminated, truncated, info = self.recorder.step(command, human=human)
        self.driver.obs, self.driver.info = obs, info
        self.driver.done = terminated or truncated

    def close(self) -> None:
        if self.takeover is None and not self.driver.done:
            # a policy episode a person stopped has no verdict: as a "failure" it would
            # teach the next reward fit that states on the way to success are wrong
            self.recorder.discard()
        self._save()
        self.recorder.close()
        self.driver.close()

    def _save(self) -> None:
        if self.recorder.writer is not None:
            self.episode_ids.append(self.recorder.save())


def message_device(latest: Callable[[], dict[str, Any] | None], max_age_s: float = 0.5
                   ) -> Device:
    """A device steered from another process: ``latest()`` is the newest message of a front
    end (the app's keyboard, ``{"action": [...] or None, "sent": time.monotonic()}``). A
    message older than ``max_age_s`` counts as hands off, so a front end that goes away
    leaves the policy in charge."""
    import time

    def read() -> np.ndarray | None:
        message = latest()
        if not message or message.get("action") is None:
            return None
        if time.monotonic() - float(message.get("sent", 0.0)) > max_age_s:
            return None
        return np.asarray(message["action"], np.float64)

    return read


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
