"""Where a sweep's own process and its Tune loop meet when they are not one process.

Driven through Ray Client (``ray://``), Tune runs its loop in an actor on the cluster's head
(Ray's ``Tuner`` does so itself), so the sweep's stopper, its progress callback and its ASHA
scheduler run there, on copies of what the sweep gave them. A :class:`Desk` actor beside that
loop carries what must cross: the Stop the person presses (the app's button, Ctrl-C), the
trials done that the progress bar counts, and the trials ASHA stopped (each run's label). The
sweep's process fits in a thread and, meanwhile, passes the Stop on, reports progress and
mirrors the copies shipped trials send back onto its own disk (the head's actor cannot
write there), so that a Ray Client sweep whose process is lost goes on from them as a local
one does. Without Ray Client there is no desk and Tune's loop runs in the sweep's process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ray
from ray import tune

from workbench.rl.ray_rollouts import on_this_node

POLL = 0.25  # seconds between the sweep process's looks at the desk


class Desk:
    """A Ray actor (no CPU) that the sweep's process and its Tune loop on the head share."""

    def __init__(self) -> None:
        self._stop = False
        self._done = 0
        self._asha: dict[str, int] = {}

    def press_stop(self) -> None:
        self._stop = True

    def stop_pressed(self) -> bool:
        return self._stop

    def trial_done(self) -> None:
        self._done += 1

    def asha_stopped(self, trial_id: str, update: int) -> None:
        self._asha[trial_id] = update

    def news(self) -> tuple[int, dict[str, int]]:
        """The trials done so far, and those ASHA stopped (trial id -> update)."""
        return self._done, dict(self._asha)


class DeskStop(tune.Stopper):
    """Every trial ends once the desk says the person pressed Stop."""

    def __init__(self, desk: Any):
        self.desk = desk

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return self.stop_all()

    def stop_all(self) -> bool:
        return bool(ray.get(self.desk.stop_pressed.remote()))


class DeskCounts(tune.Callback):
    """Each trial done, counted on the desk."""

    def __init__(self, desk: Any):
        self.desk = desk

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any,
                          **info: Any) -> None:
        self.desk.trial_done.remote()


def open_desk() -> Any:
    """A :class:`Desk` where the sweep drives its cluster through Ray Client, else None;
    pinned to the head, beside Tune's loop, not on a node the sweep may lose."""
    from ray.util import client

    if not client.ray.is_connected():
        return None
    return ray.remote(num_cpus=0, max_restarts=0)(Desk).options(
        scheduling_strategy=on_this_node(ray)).remote()


def fit_beside(tuner: Any, desk: Any, stop_asked: Callable[[], bool],
               on_done: Callable[[int], None], meanwhile: Callable[[], None]) -> Any:
    """``tuner.fit()`` in a thread while this one, every :data:`POLL` seconds, passes a Stop
    on to the desk once ``stop_asked()``, tells ``on_done`` each new count of trials done and
    calls ``meanwhile`` (the mirror of shipped copies); once more after the fit, so that
    nothing sent at its end is missed. Tune's results, or its error raised here."""
    outcome: dict[str, Any] = {}

    def fit() -> None:
        try:
            outcome["results"] = tuner.fit()
        except BaseException as error:  # noqa: BLE001 - raised again in the sweep's thread
            outcome["error"] = error

    worker = threading.Thread(target=fit, name="sweep-fit", daemon=True)
    worker.start()
    pressed, done = False, 0
    while True:
        worker.join(POLL)
        if not pressed and stop_asked():
            pressed = True
            ray.get(desk.press_stop.remote())
        count, _ = ray.get(desk.news.remote())
        if count != done:
            done = count
            on_done(done)
        meanwhile()
        if not worker.is_alive():
            break
    if "error" in outcome:
        raise outcome["error"]
    return outcome["results"]
