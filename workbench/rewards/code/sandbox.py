"""Reward code, whoever wrote it, runs here: checked before it runs, then in a separate process
that cannot open files or sockets, start processes, or use more than its share of memory and CPU.

Three fences, each enough for the common escapes and together for the rest:

1. **The source is checked** (:func:`check_source`): imports only from ``numpy`` and ``math``; no
   name or attribute that begins with an underscore (``__subclasses__``, ``__globals__``); none
   of ``eval``, ``exec``, ``open``, ``getattr`` and the like; no ``str.format`` (it reads
   attributes by name); no classes, ``global``, generators or ``async``.
2. **What it can reach is curated**: builtins are an allow-list, and ``numpy`` is a copy of its
   public functions and constants without its submodules and file functions (``np.ctypeslib``
   would otherwise lead to ``os``; ``np.load`` to pickles), ``np.linalg`` and ``np.random``
   likewise.
3. **The process is limited** (``resource.setrlimit`` once numpy is loaded): no new file
   descriptors (so no ``open``, ``socket`` or pipe), no file growth, no child processes, an
   address-space cap, a CPU-time cap; the parent kills it past a wall-clock timeout. The worker
   is reused across calls (scoring stays batched) and restarted after it dies.
"""

from __future__ import annotations

import ast
import builtins
import math
import multiprocessing as mp
import os
import traceback
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

FILENAME = "<reward code>"
ALLOWED_MODULES = ("numpy", "math")
FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr",
    "hasattr", "globals", "locals", "vars", "dir", "input", "breakpoint", "help", "exit", "quit",
    "memoryview", "type", "object", "super", "classmethod", "staticmethod", "property",
    "bytearray", "id", "print"})
FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "tofile", "dump", "dumps", "load",
                                  "save", "ctypes", "mro", "gi_frame", "f_globals", "f_back"})
SAFE_BUILTINS = {name: getattr(builtins, name) for name in (
    "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "isinstance", "len",
    "list", "map", "filter", "max", "min", "range", "reversed", "round", "sorted", "str",
    "sum", "tuple", "zip", "set", "frozenset", "divmod", "pow", "True", "False", "None",
    "ArithmeticError", "Exception", "ValueError", "ZeroDivisionError", "KeyError",
    "IndexError", "TypeError")}
# numpy's names that reach files, pickles, foreign code or its own internals.
NUMPY_DENIED = frozenset({
    "load", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt",
    "fromfile", "fromregex", "memmap", "DataSource", "ctypeslib", "lib", "testing", "f2py",
    "distutils", "typing", "char", "rec", "core", "dtypes", "exceptions", "polynomial", "fft",
    "ma", "matlib", "emath", "show_config", "show_runtime", "info", "get_include",
    "set_printoptions", "setbufsize", "seterrcall", "frombuffer", "from_dlpack"})


class CodeError(ValueError):
    """Reward code refused before it ran, or failed while it ran; names the line."""


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 20  # CPU time of the worker over its life (RLIMIT_CPU)
    memory_bytes: int = 1 << 30  # address space beyond what the worker had mapped (RLIMIT_AS)
    wall_seconds: float = 10.0  # one call, before the parent kills the worker


# -- fence 1: the source ----------------------------------------------------------------------
def check_source(source: str, entry: str = "reward") -> ast.Module:
    """The parsed source, or :class:`CodeError` naming the first line that is not allowed."""
    try:
        tree = ast.parse(source, FILENAME)
    except SyntaxError as exc:
        raise CodeError(f"line {exc.lineno}: {exc.msg}") from None
    for node in ast.walk(tree):
        problem = _problem(node)
        if problem:
            raise CodeError(f"line {getattr(node, 'lineno', '?')}: {problem}")
    if not any(isinstance(node, ast.FunctionDef) and node.name == entry for node in tree.body):
        raise CodeError(f"define a function `def {entry}(f):` (f: the scene's features by name)")
    return tree


def _problem(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import | ast.ImportFrom):
        modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                   else [node.module or ""])
        for module in modules:
            if module.split(".")[0] not in ALLOWED_MODULES:
                return f"import {module}: only {' and '.join(ALLOWED_MODULES)} may be imported"
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return "import *: name what you use"
    if isinstance(node, ast.Name) and (node.id in FORBIDDEN_NAMES or node.id.startswith("_")):
        return f"{node.id} is not available to reward code"
    if isinstance(node, ast.Attribute) and (node.attr.startswith("_")
                                            or node.attr in FORBIDDEN_ATTRIBUTES):
        return f".{node.attr} is not available to reward code"
    if isinstance(node, ast.alias) and (node.name.startswith("_") or (
            node.asname or "").startswith("_")):
        return f"{node.name} is not available to reward code"
    if isinstance(node, ast.ClassDef | ast.Global | ast.Nonlocal | ast.AsyncFunctionDef
                  | ast.Await | ast.Yield | ast.YieldFrom | ast.With | ast.AsyncWith):
        return f"{type(node).__name__.lower()} is not allowed in reward code"
    if isinstance(node, ast.arg) and node.arg.startswith("_"):
        return f"{node.arg} is not available to reward code"
    return None


# -- fence 2: what it can reach -----------------------------------------------------------------
def _public(module: Any, denied: frozenset[str] = frozenset()) -> SimpleNamespace:
    names = {name: getattr(module, name) for name in dir(module)
             if not name.startswith("_") and name not in denied
             and not isinstance(getattr(module, name, None), type(np))}
    return SimpleNamespace(**names)


def curated_modules() -> dict[str, Any]:
    numpy = _public(np, NUMPY_DENIED)
    numpy.linalg = _public(np.linalg)
    numpy.random = SimpleNamespace(default_rng=np.random.default_rng)
    return {"numpy": numpy, "math": _public(math)}


def _guarded_import(modules: dict[str, Any]) -> Any:
    def import_(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                level: int = 0) -> Any:
        root = name.split(".")[0]
        if root not in modules or level:
            raise ImportError(f"only {' and '.join(ALLOWED_MODULES)} may be imported")
        module = modules[root]
        for part in name.split(".")[1:] if fromlist else ():
            module = getattr(module, part)
        return module

    return import_


def load(source: str, entry: str = "reward") -> Any:
    """The checked code's ``entry`` function, defined among the curated names only."""
    tree = check_source(source, entry)
    modules = curated_modules()
    namespace: dict[str, Any] = {
        "__builtins__": {**SAFE_BUILTINS, "__import__": _guarded_import(modules)},
        "np": modules["numpy"], "math": modules["math"]}
    exec(compile(tree, FILENAME, "exec"), namespace)  # noqa: S102 — checked, curated, limited
    return namespace[entry]


# -- fence 3: the process -------------------------------------------------------------------------
def _limit(limits: Limits) -> None:
    import resource

    with open("/proc/self/statm") as statm:  # pages mapped now: numpy, its thread pools
        mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    # A new descriptor takes the lowest free number: fill every gap below the highest one in
    # use (with /dev/null), then allow no number above it.
    highest_fd = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    while (fd := os.open(os.devnull, os.O_RDONLY)) < highest_fd:
        pass
    highest_fd = fd
    for which, value in ((resource.RLIMIT_NOFILE, highest_fd + 1),
                         (resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_NPROC, 0),
                         (resource.RLIMIT_CORE, 0),
                         (resource.RLIMIT_AS, mapped + limits.memory_bytes),
                         (resource.RLIMIT_CPU, limits.cpu_seconds)):
        resource.setrlimit(which, (value, value))


def _worker(source: str, entry: str, limits: Limits, conn: Any) -> None:
    try:
        function = load(source, entry)
        _limit(limits)
        conn.send(("ready", None))
    except BaseException as exc:  # refused source, or the limits cannot be set
        conn.send(("error", _describe(exc)))
        return
    while True:
        try:
            features = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", _call(function, features)))
        except BaseException as exc:  # the reward code's own failure: report, keep serving
            conn.send(("error", _describe(exc)))


def _call(function: Any, features: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, Any]]:
    out = function(dict(features))
    reward, terms = out if isinstance(out, tuple) and len(out) == 2 else (out, {})
    if not isinstance(terms, dict):
        raise CodeError("return a reward, or (reward, dict of named terms)")
    n = len(next(iter(features.values()))) if features else 1
    values = np.broadcast_to(np.asarray(reward, dtype=np.float64), (n,)).copy()
    named = {str(k): np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()
             for k, v in terms.items()}
    return values, named


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CodeError):
        return str(exc)
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__)
             if frame.filename == FILENAME]
    where = f"line {lines[-1]}: " if lines else ""
    return f"{where}{type(exc).__name__}: {exc}"


class Sandbox:
    """A worker process running one piece of reward code; :meth:`score` calls it on a batch.

    Example:
        >>> with Sandbox("def reward(f):\\n    return -f['d'][:, 0]") as box:
        ...     rewards, terms = box.score({"d": np.ones((4, 1))})
    """

    def __init__(self, source: str, entry: str = "reward", limits: Limits = Limits()):
        check_source(source, entry)  # refused here, before a process starts
        self.source, self.entry, self.limits = source, entry, limits
        self._process: Any = None
        self._conn: Any = None

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_worker, daemon=True,
                                    args=(self.source, self.entry, self.limits, child))
        self._process.start()
        child.close()
        self._conn = parent
        self._receive(startup=True)

    def score(self, features: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The reward per row of ``features`` (name -> (N, k) array) and its named terms."""
        if self._process is None or not self._process.is_alive():
            self._start()
        self._conn.send({k: np.asarray(v, dtype=np.float64) for k, v in features.items()})
        return self._receive()

    def _receive(self, startup: bool = False) -> Any:
        wait = self.limits.wall_seconds + (30.0 if startup else 0.0)  # numpy's import first
        if not self._conn.poll(wait):
            self.close()
            raise CodeError(f"reward code ran past {self.limits.wall_seconds:g} s and was "
                            "stopped")
        try:
            kind, payload = self._conn.recv()
        except (EOFError, OSError):
            code = self._process.exitcode if self._process is not None else None
            self.close()
            raise CodeError(f"reward code was killed ({_why(code)})") from None
        if kind == "error":
            if startup:
                self.close()
            raise CodeError(payload)
        return payload

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def __del__(self) -> None:  # a model dropped without close(): no worker left behind
        try:
            self.close()
        except Exception:  # interpreter shutdown: the daemon worker goes with it
            pass

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _why(exitcode: int | None) -> str:
    import signal

    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        return {"SIGXCPU": "its CPU time ran out", "SIGKILL": "killed"}.get(name, name)
    return f"exit code {exitcode}"
