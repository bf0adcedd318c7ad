"""Dataclass configs with dotted overrides, checked where they are built.

A run is "base config + overrides", e.g. ``["ppo.lr=3e-4", "reward.epochs=50"]``; the resolved
config is written next to every artifact so that it replays exactly. A field's docstring-style
``metadata["help"]`` is its CLI help and GUI tooltip, and its bounds (``metadata["min"]``,
``"max"``, ``"gt"``, ``"lt"``, ``"choices"``, ``"pattern"``) are checked by :func:`validated`
whenever a config is constructed: from the CLI, the app, a saved ``config.json`` or code.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import math
import re
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    pass


def validated(cls: type[T]) -> type[T]:
    """Class decorator (below ``@dataclass``): check every field on construction, then the
    class's own ``check()`` (rules that tie fields together) where it has one."""

    def __post_init__(self) -> None:
        hints = _hints(type(self))  # type: ignore[arg-type]  # a class is hashable
        for f in dataclasses.fields(self):
            problem = _problem(getattr(self, f.name), hints[f.name], f.metadata)
            if problem:
                raise ConfigError(f"{f.name} {problem}, got {getattr(self, f.name)!r}")
        check = getattr(self, "check", None)  # rules across fields, after each field's own
        if callable(check):
            check()

    cls.__post_init__ = __post_init__  # type: ignore[attr-defined]
    return cls


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def optional_type(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); any other hint -> (hint, False). How the CLI, the app's
    forms and the checks here read a field that may be left unset."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1 and len(typing.get_args(hint)) == 2:
            return options[0], True
    return hint, False


def _problem(value: Any, hint: Any, meta: typing.Mapping[str, Any]) -> str | None:
    """Why ``value`` does not fit the field's type and bounds, or None."""
    hint, optional = optional_type(hint)
    if optional and value is None:
        return None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return None if isinstance(value, hint) else f"must be a {hint.__name__}"
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, tuple):
            return "must be a list of values"
        inner = typing.get_args(hint)[0]
        problems = (_problem(item, inner, meta) for item in value)
        return next((f"entries {p}" for p in problems if p), None)
    if hint is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        return "must be a whole number"
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if not math.isfinite(value):
            return "must be a finite number"
    if hint is str and not isinstance(value, str):
        return "must be text"
    return _out_of_bounds(value, meta)


def _out_of_bounds(value: Any, meta: typing.Mapping[str, Any]) -> str | None:
    if "choices" in meta and value not in choices(meta):
        allowed = choices(meta)
        empty = " (or empty)" if "" in allowed else ""
        return "must be one of " + ", ".join(repr(c) for c in allowed if c != "") + empty
    if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
        return f"must be {meta.get('pattern_help', 'of the form ' + meta['pattern'])}"
    low, high = meta.get("min"), meta.get("max")
    above, below = meta.get("gt"), meta.get("lt")
    if (low is not None and value < low) or (high is not None and value > high) or (
            above is not None and value <= above) or (below is not None and value >= below):
        left = f"[{low}" if low is not None else (f"({above}" if above is not None else "(-inf")
        right = f"{high}]" if high is not None else (f"{below})" if below is not None else "inf)")
        return f"must be in {left}, {right}"
    return None


def choices(meta: typing.Mapping[str, Any]) -> tuple[Any, ...]:
    """A field's allowed values: a tuple, or a function giving them (a registry that plugins
    add to after the field was declared)."""
    allowed = meta.get("choices", ())
    return tuple(allowed() if callable(allowed) else allowed)


# The bounds of a compute-device field: ``metadata={"help": ..., **DEVICE}``.
DEVICE = {"pattern": r"auto|cpu|cuda(:\d+)?", "pattern_help": "auto, cpu, cuda or cuda:N"}


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
    if (isinstance(current, tuple) and isinstance(value, int | float)
            and not isinstance(value, bool)):  # hidden=64: one layer
        value = (value,)
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
    elif text.lower() == "none" and optional_type(
            _hints(type(config))[head])[1]:  # type: ignore[arg-type]  # a class is hashable
        value = None  # an optional field set back to unset
    else:
        value = _parse(text, current)
        expected = type(current)
        if current is not None and not isinstance(value, expected):
            raise ConfigError(
                f"{original!r}: {head} expects {expected.__name__}, got {type(value).__name__}"
            )
    try:
        return dataclasses.replace(config, **{head: value})
    except ConfigError as exc:
        if len(path) > 1:  # already named by the nested config
            raise
        raise ConfigError(f"{original!r}: {exc}") from None


def differences(config: Any, reference: Any, prefix: str = "") -> list[str]:
    """The ``a.b=value`` assignments by which ``config`` differs from ``reference`` (nested
    configs by dotted name), in :func:`override`'s syntax and field order: what a report says
    a run changed from the defaults."""
    found = []
    for f in dataclasses.fields(config):
        value, before = getattr(config, f.name), getattr(reference, f.name)
        if dataclasses.is_dataclass(value) and dataclasses.is_dataclass(before):
            found += differences(value, before, f"{prefix}{f.name}.")
        elif value != before:
            text = (str(value).lower() if isinstance(value, bool) or value is None
                    else value if isinstance(value, str) else repr(value))
            found.append(f"{prefix}{f.name}={text}")
    return found


def with_values(config: T, values: typing.Mapping[str, Any]) -> T:
    """A copy of ``config`` with typed values at dotted paths (``{"ppo.lr": 1e-3}``), checked
    as on construction: what the generated CLI and the app's forms hand over."""
    # All at once, level by level: a check that relates two fields sees both new values.
    fields = {f.name for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    direct: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for path, value in values.items():
        head, _, rest = path.partition(".")
        if head not in fields:
            raise ConfigError(f"{type(config).__name__} has no field {head!r}")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    for head, inner in nested.items():
        current = direct.get(head, getattr(config, head))
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"{type(config).__name__}.{head} is not a nested config")
        direct[head] = with_values(current, inner)
    return dataclasses.replace(config, **direct)  # type: ignore[type-var]


def problem(value: Any, hint: Any, meta: typing.Mapping[str, Any]) -> str | None:
    """Why ``value`` does not fit a field of type ``hint`` with bounds ``meta``, or None."""
    return _problem(value, hint, meta)


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """The config saved as ``to_dict`` wrote it (unknown keys ignored; values checked)."""
    if not isinstance(data, dict):
        raise ConfigError(f"a {cls.__name__} must be a JSON object, got {type(data).__name__}")
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
