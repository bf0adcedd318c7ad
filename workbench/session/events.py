"""What the session tells its views: one event type per fact, with its payload typed.

Views subscribe to the types they show (``events.subscribe(SceneChanged, on_scene)``); a
listener receives the event object. Nothing here knows about Qt: the app's timer drives
:meth:`Session.tick` and :meth:`JobBoard.poll`, which publish what changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from workbench.session.jobs import JobEvent


@dataclass(frozen=True)
class SceneChanged:
    """Another scene is live (or the same one in another workspace)."""

    name: str


@dataclass(frozen=True)
class DifficultyChanged:
    """The live scene is laid out at another difficulty (what takes are recorded at)."""

    difficulty: float


@dataclass(frozen=True)
class WorkspaceChanged:
    path: str


@dataclass(frozen=True)
class Frame:
    """The live scene (or the replayed frame) moved; ``info`` is its step info: progress,
    success, the learned reward where there is one."""

    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordingChanged:
    active: bool


@dataclass(frozen=True)
class EpisodesChanged:
    """Episodes were saved, deleted, trimmed or restored."""


@dataclass(frozen=True)
class TimelineChanged:
    """The replayed episode's frame ``t`` of ``length`` (0 of 0: none on the timeline)."""

    t: int
    length: int


@dataclass(frozen=True)
class LabelsChanged:
    """A pair or ranking label was stored; ``count`` labels in the workspace."""

    count: int


@dataclass(frozen=True)
class GoalsChanged:
    pass


@dataclass(frozen=True)
class Branched:
    """Two continuations of a recorded frame were saved: episode ids and windows to rank."""

    pair: tuple[Any, Any]


@dataclass(frozen=True)
class JobUpdate:
    """A background job (``record``, ``reward``, ``train``, ``goal``, ``export``, ``run``)
    started, progressed, paused, resumed, finished, stopped or failed."""

    name: str
    event: JobEvent


@dataclass(frozen=True)
class Problem:
    """Something the person asked for could not be done; ``message`` says what to do."""

    message: str


@dataclass(frozen=True)
class Notice:
    """Something done that the person should know about ("kept the 3 takes saved")."""

    text: str


E = TypeVar("E")


class EventBus:
    def __init__(self) -> None:
        self._listeners: dict[type, list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, kind: type[E], listener: Callable[[E], None]) -> None:
        self._listeners[kind].append(listener)

    def publish(self, event: object) -> None:
        for listener in list(self._listeners[type(event)]):
            listener(event)

    def problem(self, message: str) -> None:
        self.publish(Problem(message))

    def notice(self, text: str) -> None:
        self.publish(Notice(text))
