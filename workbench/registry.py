"""Plugin registries for robots and scenes.

Robots and scenes declare themselves as entry points in their distribution's ``pyproject.toml``
(groups ``workbench.robots`` and ``workbench.scenes``), so the core never names one and nothing is
registered by import side effects. Tests and notebooks may add entries with :meth:`Registry.add`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from workbench.config import ConfigError


class UnknownEntryError(KeyError):
    """Raised for a name that no installed plugin provides; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable.
        return str(self.args[0])


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "module:attribute"

    def load(self) -> Any:
        module_name, _, attribute = self.target.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
        return obj


class Registry:
    """Name -> lazily imported class, discovered from an entry-point group."""

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group
        self._extra: dict[str, Entry] = {}
        self._installed: dict[str, Entry] | None = None  # read once: 4.5 ms a scan

    def _entries(self) -> dict[str, Entry]:
        # Every request naming a scene checks it against these, so the scan is kept.
        if self._installed is None:
            self._installed = {ep.name: Entry(ep.name, ep.value)
                               for ep in entry_points(group=self.group)}
        return {**self._installed, **self._extra}

    def names(self) -> list[str]:
        return sorted(self._entries())

    def add(self, name: str, target: str) -> None:
        """Register ``module:attribute`` under ``name`` for this process."""
        self._extra[name] = Entry(name, target)

    def load(self, name: str) -> Any:
        entries = self._entries()
        if name not in entries:
            known = ", ".join(sorted(entries)) or "none (is the project installed? ./setup.sh)"
            raise UnknownEntryError(f"unknown {self.kind} {name!r}; known {self.kind}s: {known}")
        return entries[name].load()


ROBOTS = Registry("robot", "workbench.robots")
SCENES = Registry("scene", "workbench.scenes")
# The bounds of a field that names a scene (``metadata={"help": ..., **SCENE}``): the CLI, the
# app's requests and the checks all refuse an unknown one the same way.
SCENE = {"choices": SCENES.names}
FRONTENDS = Registry("front end", "workbench.frontends")


def scene_robot(scene: str, robot: str | None = None) -> str:
    """The robot ``scene`` runs with: ``robot`` where given, else the scene's own. Another robot
    of the same kind (arm7 for arm6) can stand in for the scene's own; any other is refused
    (a ConfigError: a run's or a fit's settings call this as they are made), by the registries
    alone, before anything is built."""
    own = SCENES.load(scene).robot
    if not robot or robot == own:
        return own
    kind, other = ROBOTS.load(own).kind, ROBOTS.load(robot)  # an unknown name: refused here
    if not kind or other.kind != kind:
        needed = f"a {kind}" if kind else f"the scene's own {own!r}"
        raise ConfigError(f"robot must be {needed} for {scene}, got {robot!r}")
    return robot


def stand_ins(scene: str) -> tuple[str, ...]:
    """The robots ``scene`` is laid out and demonstrated for (what the app offers): its own
    first, then those it names (``Task.stand_ins``)."""
    task = SCENES.load(scene)
    return (task.robot, *sorted(task.stand_ins))


def same_kind(scene: str) -> tuple[str, ...]:
    """The robots that may run ``scene`` (what ``scene_robot`` lets through): its own first,
    then every other of its kind, laid out for or not."""
    own = SCENES.load(scene).robot
    kind = ROBOTS.load(own).kind
    return (own, *(name for name in ROBOTS.names()
                   if kind and name != own and ROBOTS.load(name).kind == kind))


def robot_choices() -> tuple[str, ...]:
    """What a robot field takes: a registered robot, or "" for the scene's own."""
    return ("", *ROBOTS.names())
