"""Dataclass configs with dotted overrides.

A run is "base config + overrides", e.g. ``["ppo.lr=3e-4", "reward.epochs=50"]``; the resolved
config is written next to every artifact so that it replays exactly. A field's docstring-style
``metadata["help"]`` is its CLI help and GUI tooltip.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    pass


def help_for(cls: type, name: str) -> str:
    for field in dataclasses.fields(cls):
        if field.name == name:
            return field.metadata.get("help", "")
    raise ConfigError(f"{cls.__name__} has no field {name!r}")


def _parse(text: str, current: Any) -> Any:
    if isinstance(current, str):
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    if isinstance(current, bool) and isinstance(value, str):
        value = value.lower() in ("1", "true", "yes", "on")
    if isinstance(current, float) and isinstance(value, int):
        value = float(value)
    if isinstance(current, tuple) and isinstance(value, list):
        value = tuple(value)
    if isinstance(current, tuple) and isinstance(value, str):  # a,b,c for a tuple of names
        value = tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def override(config: T, assignments: list[str] | tuple[str, ...]) -> T:
    """Return a copy of ``config`` with ``a.b=value`` assignments applied (configs stay frozen)."""
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep:
            raise ConfigError(f"override {assignment!r} is not of the form key=value")
        config = _set(config, key.strip().split("."), text.strip(), assignment)
    return config


def _set(config: Any, path: list[str], text: str, original: str) -> Any:
    names = [f.name for f in dataclasses.fields(config)]
    head = path[0]
    if head not in names:
        raise ConfigError(
            f"{original!r}: {type(config).__name__} has no field {head!r}; "
            f"fields: {', '.join(names)}"
        )
    current = getattr(config, head)
    if len(path) > 1:
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"{original!r}: {head!r} is not a nested config")
        value = _set(current, path[1:], text, original)
    else:
        value = _parse(text, current)
        expected = type(current)
        if current is not None and not isinstance(value, expected):
            raise ConfigError(
                f"{original!r}: {head} expects {expected.__name__}, got {type(value).__name__}"
            )
    return dataclasses.replace(config, **{head: value})


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name not in data:
            continue
        value = data[field.name]
        field_type = hints.get(field.name)
        if dataclasses.is_dataclass(field_type) and isinstance(value, dict):
            value = from_dict(field_type, value)  # type: ignore[arg-type]
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[field.name] = value
    return cls(**kwargs)
