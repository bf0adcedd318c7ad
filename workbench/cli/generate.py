"""The CLI's arguments, generated from an operation's request (in the spirit of tyro).

Every field of the request is one argument: ``metadata["positional"]`` makes it positional,
``"flag"`` gives it a short flag, its help and bounds (:mod:`workbench.config`) become the help
text and the one-line error. A nested config becomes dotted options (``--ppo.lr``);
``"flatten"`` drops its prefix, ``"positional"`` names which of its fields are positional,
``"aliases"`` adds short spellings (``--steps`` for ``--ppo.total-steps``) and ``"omit"`` leaves
out fields the request does not use (a sweep's trials take no ``--cluster`` of their own). A
list takes its items apart on spaces and on commas (``--mirror 1,-1,-1``, as the help, the app's
forms and ``KEY=VALUE`` overrides write it), except where ``"item_commas"`` says an item holds
commas of its own (a sweep's ``--grid ppo.lr=1e-4,3e-4``). A
request whose nested config depends on other options (a reward family's settings, a scene's
defaults) says so with ``nested_defaults(known)``: the command line is read twice, once for
those options and once with the nested options they imply.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import typing
from pathlib import Path
from typing import Any

from workbench import config as cfg
from workbench.operations import Request

SEP = ":"  # between a nested field's name and the dotted path in an argument's dest


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One argument: a top-level field, or a field of a nested config."""

    dest: str  # "scene", or "config:ppo.lr"
    option: str  # "--ppo.lr"
    hint: Any
    meta: typing.Mapping[str, Any]
    default: Any
    positional: bool
    aliases: tuple[str, ...] = ()


class Parser(argparse.ArgumentParser):
    """Errors in one line, naming the option and what it allows (no usage screen)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def add_arguments(parser: argparse.ArgumentParser, cls: type[Request], argv: list[str]) -> None:
    """Give ``parser`` the arguments of request ``cls`` (nested ones as ``argv`` implies)."""
    for leaf in leaves(cls, _known(cls, argv)):
        _add(parser, leaf)


def request_from(cls: type[Request], namespace: argparse.Namespace) -> Request:
    """The request the parsed arguments describe (checked as any request is)."""
    values = {name: tuple(v) if isinstance(v, list) else v  # nargs give lists
              for name, v in vars(namespace).items()}
    # What nested_defaults reads: the plain options and the positional ones inside a flattened
    # config (Train's scene), by their own names, as the first read (``_known``) gives them.
    positional = {f"{f.name}{SEP}{path}" for f in dataclasses.fields(cls)
                  if f.metadata.get("flatten") for path in f.metadata.get("positional", ())}
    known = {name.rpartition(SEP)[2]: value for name, value in values.items()
             if SEP not in name or name in positional}
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in values:
            kwargs[f.name] = values[f.name]
            continue
        base = _nested_base(cls, f, known)
        if base is not None:
            prefix = f.name + SEP
            kwargs[f.name] = cfg.with_values(base, {
                dest[len(prefix):]: value for dest, value in values.items()
                if dest.startswith(prefix)})
    return cls(**kwargs)


def command_line(name: str, request: Request) -> str:
    """``workbench <name> ...``: the positional arguments, then the options that differ from
    their defaults (a nested config left None means its defaults)."""
    positional, options = ["workbench", *name.split()], []
    for leaf in leaves(type(request), _fields_of(request)):
        value = _value_at(request, leaf)
        if leaf.positional:
            positional += [str(v) for v in value] if isinstance(value, tuple) else [str(value)]
        elif value != leaf.default and not (value == "" and leaf.default is None):
            if isinstance(value, bool):
                options.append(leaf.option if value else "--no-" + leaf.option[2:])
            else:
                options += [leaf.option, *(str(v) for v in
                                           (value if isinstance(value, tuple) else (value,)))]
    return shlex.join(positional + options)


# -- the fields as arguments -------------------------------------------------------------------
def leaves(cls: type[Request], known: dict[str, Any]) -> list[Leaf]:
    """The arguments of request ``cls`` once ``known`` options (family, scene) are read."""
    hints = typing.get_type_hints(cls)
    found: list[Leaf] = []
    for f in dataclasses.fields(cls):
        base = _nested_base(cls, f, known)
        if base is None and f.metadata.get("flatten"):
            continue  # its class is not known yet (an unknown family): the parse says why
        if base is None:
            default = None if f.default is dataclasses.MISSING else f.default
            found.append(Leaf(f.name, _option(f.name), hints[f.name], f.metadata, default,
                               bool(f.metadata.get("positional")), _flag(f.metadata)))
            continue
        prefix = "" if f.metadata.get("flatten") else f.name + "."
        positional = f.metadata.get("positional", ())
        aliases = f.metadata.get("aliases", {})
        for path, hint, meta, default in _nested_fields(base):
            if path in f.metadata.get("omit", ()):
                continue
            found.append(Leaf(f"{f.name}{SEP}{path}", _option(prefix + path), hint, meta,
                               default, path in positional,
                               (aliases[path],) if path in aliases else ()))
    names = [leaf.option for leaf in found]
    duplicated = {name for name in names if names.count(name) > 1}
    if duplicated:  # a request's design error, not the user's
        raise TypeError(f"{cls.__name__}: options {sorted(duplicated)} are declared twice")
    return found


def _nested_fields(config: Any, prefix: str = "") -> typing.Iterator[tuple[str, Any, Any, Any]]:
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            yield from _nested_fields(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", hints[f.name], f.metadata, value


def _nested_base(cls: type[Request], f: dataclasses.Field[Any], known: dict[str, Any]) -> Any:
    """The nested config a field starts from, or None for a plain field."""
    hook = getattr(cls, "nested_defaults", None)
    if hook is not None:
        try:
            defaults = hook(known)
        except (ValueError, LookupError):  # a bad family or scene: the full parse names it
            defaults = {}
        if f.name in defaults:
            return defaults[f.name]
    if f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
        return value if dataclasses.is_dataclass(value) else None
    return None


def _known(cls: type[Request], argv: list[str]) -> dict[str, Any]:
    """The plain options in ``argv``, read leniently (the first of the two reads)."""
    if getattr(cls, "nested_defaults", None) is None:
        return {}
    parser = argparse.ArgumentParser(add_help=False)
    for leaf in leaves(cls, {}):
        if SEP in leaf.dest and not leaf.positional:
            continue
        if leaf.positional:
            parser.add_argument(leaf.dest.rpartition(SEP)[2], nargs="?")
        else:
            parser.add_argument(leaf.option, *leaf.aliases, dest=leaf.dest)
    try:
        known, _ = parser.parse_known_args(argv)
    except SystemExit:
        return {}
    return {name: value for name, value in vars(known).items() if value is not None}


def _fields_of(request: Request) -> dict[str, Any]:
    """What ``nested_defaults`` reads of a made request: its fields, and the positional ones
    inside a flattened config (Train's scene) by their own names, as the first read gives them,
    so a printed command leaves out what the scene sets itself."""
    known = {f.name: getattr(request, f.name) for f in dataclasses.fields(request)}
    for f in dataclasses.fields(request):
        if f.metadata.get("flatten") and known[f.name] is not None:
            known |= {path: getattr(known[f.name], path) for path in f.metadata.get("positional",
                                                                                  ())}
    return known


def _value_at(request: Request, leaf: Leaf) -> Any:
    name, _, path = leaf.dest.partition(SEP)
    value = getattr(request, name)
    for part in path.split(".") if path else ():
        if value is None:  # a nested config not given: its defaults
            return leaf.default
        value = getattr(value, part)
    return value


def _option(path: str) -> str:
    return "--" + path.replace("_", "-")


def _flag(meta: typing.Mapping[str, Any]) -> tuple[str, ...]:
    return (meta["flag"],) if "flag" in meta else ()


def _add(parser: argparse.ArgumentParser, leaf: Leaf) -> None:
    hint, optional = cfg.optional_type(leaf.hint)
    many = typing.get_origin(hint) is tuple
    item = typing.get_args(hint)[0] if many else hint
    nested = SEP in leaf.dest
    name = leaf.dest.rpartition(SEP)[2].rpartition(".")[2]
    kwargs: dict[str, Any] = {"help": _help(leaf), "metavar": name.upper()}
    if "choices" in leaf.meta and not leaf.positional:  # a positional keeps its name (SCENE)
        kwargs["metavar"] = "{" + ",".join(str(c) for c in cfg.choices(leaf.meta) if c) + "}"
    if item is bool and not many:
        kwargs["action"] = argparse.BooleanOptionalAction
        del kwargs["metavar"]
    else:
        kwargs["type"] = _converter(item, leaf.meta, optional)
    if many and not leaf.meta.get("item_commas"):
        kwargs["type"], kwargs["action"] = _comma_items(kwargs["type"]), _Items
    if leaf.positional:
        parser.add_argument(leaf.dest, nargs="+" if many else None, **kwargs)
        return
    if many:
        kwargs["nargs"] = "*"
    kwargs["default"] = argparse.SUPPRESS if nested else leaf.default
    parser.add_argument(leaf.option, *leaf.aliases, dest=leaf.dest, **kwargs)


def _converter(kind: Any, meta: typing.Mapping[str, Any], optional: bool) -> Any:
    def convert(text: str) -> Any:
        try:
            value = kind(text) if kind in (int, float, str, Path) else text
        except ValueError:
            word = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {word}, got {text!r}") from None
        problem = cfg.problem(value, kind, meta)
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}, got {text!r}")
        return value

    convert.__name__ = getattr(kind, "__name__", "value")
    return convert


def _comma_items(convert: Any) -> Any:
    """``convert`` applied to each comma-separated part of one word (a list per word)."""
    def items(text: str) -> list[Any]:
        return [convert(part.strip()) for part in text.split(",") if part.strip()]

    items.__name__ = convert.__name__
    return items


class _Items(argparse.Action):
    """The items of a list option's words, one list (``1,-1 -1`` gives 1, -1, -1)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, [item for word in values for item in word])


def _help(leaf: Leaf) -> str:
    text = leaf.meta.get("help", "")
    if leaf.positional or leaf.default in (None, "", ()) or isinstance(leaf.default, bool):
        return text.replace("%", "%%")
    return f"{text} (default: {leaf.default})".replace("%", "%%")
