"""Long operations (reward fitting, training) in a worker process that streams events back.

A job performs one request of :mod:`workbench.operations` in the worker; the operation's
progress events come back as :class:`JobEvent` and its ``should_stop()`` turns true when the
user pressed Stop. The parent polls :meth:`Job.poll` (from a GUI timer, say) and never blocks.
``spawn`` start method: a fresh interpreter, so no GL context, Qt object or CUDA state is
inherited from the parent.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

from workbench.operations import USER_ERRORS, Progress, Request, execute

JOB_NICENESS = 10


@dataclass
class JobEvent:
    kind: str  # progress | snapshot | done | error | stopped
    data: dict[str, Any] = field(default_factory=dict)


class _WorkerProgress(Progress):
    previews = True  # the app shows the training policy live
    commands = True  # and may send messages (Job.send)

    def __init__(self, events: Any, stop: Any, inbox: Any):
        self.events, self.stop, self.inbox = events, stop, inbox
        self._latest: dict[str, dict[str, Any]] = {}

    def emit(self, kind: str, **data: Any) -> None:
        self.events.put(JobEvent(kind, data))

    def should_stop(self) -> bool:
        return bool(self.stop.is_set())

    def latest(self, kind: str) -> dict[str, Any] | None:
        while True:  # drain: only the newest message of each kind matters
            try:
                sent, data = self.inbox.get_nowait()
            except queue.Empty:
                break
            self._latest[sent] = data
        return self._latest.get(kind)


def _worker(request: Request, events: Any, stop: Any, inbox: Any) -> None:
    # Background work yields the CPU to the interactive process (the GUI's viewport) first.
    if hasattr(os, "nice"):
        os.nice(JOB_NICENESS)
    progress = _WorkerProgress(events, stop, inbox)
    try:
        result = execute(request, progress)
        end, data = ("stopped" if stop.is_set() else "done"), (result or {})
    except BaseException as exc:  # report every failure to the parent, then exit
        # The errors the command line words for a person (a refused option, a missing file)
        # read as theirs; anything else names its type, a bug's first clue.
        said = isinstance(exc, USER_ERRORS)
        end, data = "error", {"message": str(exc) if said else f"{type(exc).__name__}: {exc}",
                              "traceback": traceback.format_exc()}
    _leave_cluster()
    progress.emit(end, **data)


def _leave_cluster() -> None:
    """Disconnect from Ray (a cluster run or fit) before the job reports its end: else Ray
    disconnects at the process's exit, where the app, closing, may end it mid-way (Ray then
    prints its SIGTERM handler's traceback)."""
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()


class Job:
    """One worker process performing one request.

    Example:
        >>> job = Job(FitReward(scene="Push", workspace=Path("ws")))
        >>> job.start(); events = job.poll()
    """

    def __init__(self, request: Request):
        self.request = request
        self.state = "new"  # new | running | done | error | stopped
        self.paused = False
        self.result: dict[str, Any] = {}
        self.error: str | None = None
        ctx = mp.get_context("spawn")
        self._events: Any = ctx.Queue()  # (kind, data) from the worker
        self._stop = ctx.Event()
        self._inbox: Any = ctx.Queue()  # (kind, data) to the worker
        self._process = ctx.Process(
            target=_worker, args=(request, self._events, self._stop, self._inbox), daemon=True
        )

    def start(self) -> Job:
        self._process.start()
        self.state = "running"
        return self

    def poll(self, max_events: int = 1000) -> list[JobEvent]:
        events = []
        for _ in range(max_events):
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            events.append(event)
            if event.kind in ("done", "stopped"):
                self.state, self.result = event.kind, event.data
            elif event.kind == "error":
                self.state, self.error = "error", event.data.get("message")
        if self.state == "running" and not self._process.is_alive() and not events:
            code = self._process.exitcode
            self.state, self.error = "error", f"the worker process died (exit code {code})"
            events.append(JobEvent("error", {"message": self.error}))
        return events

    def pause(self) -> None:
        """Freeze the worker where it is (SIGSTOP): it keeps its memory and continues exactly
        there on :meth:`resume`; meanwhile it uses no CPU. (A stopped run continues across app
        restarts from its checkpoint instead: ``Train(resume=...)``.)"""
        pid = self._process.pid
        if self.running and not self.paused and pid is not None and hasattr(signal, "SIGSTOP"):
            os.kill(pid, signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self.paused and self._process.pid is not None:
            os.kill(self._process.pid, signal.SIGCONT)
            self.paused = False

    def send(self, kind: str, **data: Any) -> None:
        """A message to the running operation, which reads the newest of each kind
        (``Progress.latest``): a person's take-over command, say."""
        if self.running:
            self._inbox.put((kind, data))

    def stop(self) -> None:
        """Ask the job to stop at its next check; it still reports what it has."""
        self._stop.set()
        self.resume()  # a frozen worker cannot see the request

    def kill(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.resume()
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout)
        if self.state == "running":
            self.state = "stopped"

    def wait(self, timeout: float | None = None) -> list[JobEvent]:
        """Block until the job ends (for scripts and tests); returns all its events."""
        import time

        events: list[JobEvent] = []
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.state == "running":
            events += self.poll()
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{type(self.request).__name__} still running after {timeout}s")
            time.sleep(0.05)
        return events

    @property
    def running(self) -> bool:
        return self.state == "running"
