"""Progress of long steps deep inside a job (rendering, encoder pretraining), without threading a
callback through every signature on the way.

The front end installs a reporter around the work (``with reporting(callback): fit(...)``); the
step calls :func:`report` as it goes. A reporter that returns False cancels: :func:`report` then
raises :class:`Cancelled`, which the job or the CLI shows as a cancellation, not a failure. With
no reporter installed :func:`report` does nothing. The reporter lives in a context variable, so
threads and jobs do not see each other's.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# (stage, done, total) -> False to cancel
Reporter = Callable[[str, int, int], bool | None]

_REPORTER: ContextVar[Reporter | None] = ContextVar("workbench_progress", default=None)


class Cancelled(Exception):
    """The person cancelled the job while a long step was running."""


@contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


def report(stage: str, done: int, total: int) -> None:
    reporter = _REPORTER.get()
    if reporter is not None and reporter(stage, done, total) is False:
        raise Cancelled(f"cancelled while {stage} ({done} of {total})")


# What a command line's job takes as the app's Stop: Ctrl-C, and the SIGTERM that a scheduler
# pre-empting it (SLURM), `kill` or a container being stopped sends before it kills.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupt_asks_to_stop(pressed: list[bool], said: Callable[[], None]) -> Iterator[None]:
    """A command line's Ctrl-C or SIGTERM as the app's Stop: the first appends True to
    ``pressed`` (the job stops where it keeps what it has: a training run after its update,
    with its checkpoint) and calls ``said`` to tell the person; a second interrupts at once
    (Ctrl-C raises KeyboardInterrupt, SIGTERM ends the process). Off the main thread, where
    Python cannot take a signal, it changes nothing (the app's Stop asks through
    ``Progress.should_stop`` instead)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def restore() -> None:
        for number, handler in previous.items():  # None: set outside Python, the default
            signal.signal(number, signal.SIG_DFL if handler is None else handler)

    def stop(signum: int, frame: Any) -> None:
        pressed.append(True)
        restore()
        said()

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        restore()
