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
   is reused across calls (scoring stays batched) and restarted after it dies. It is this file
   run by a fresh interpreter, which imports numpy and nothing of the workbench.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import json
import math
import os
import select
import signal
import struct
import subprocess
import sys
import traceback
import typing
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
# Attributes that reach files, foreign memory or the interpreter's frames and code objects.
FORBIDDEN_ATTRIBUTES = frozenset({
    "format", "format_map", "tofile", "dump", "dumps", "load", "save", "ctypes", "mro",
    "gi_frame", "gi_code", "cr_frame", "ag_frame", "tb_frame", "f_globals", "f_locals",
    "f_builtins", "f_back", "co_code"})
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


# The worker is this file run as a script (``python -I sandbox.py``): a fresh interpreter that
# imports numpy and nothing of the workbench, talking over its stdin and stdout. A message is a
# length-prefixed JSON header and the raw float64 bytes of the arrays it lists: no pickles.
def _send(stream: Any, header: dict[str, Any],
          arrays: dict[str, np.ndarray] | None = None) -> None:
    arrays = arrays or {}
    blobs = [np.ascontiguousarray(a, dtype=np.float64) for a in arrays.values()]
    listed = [[name, list(b.shape)] for name, b in zip(arrays, blobs, strict=True)]
    header = {**header, "arrays": listed}
    text = json.dumps(header).encode()
    stream.write(struct.pack("<Q", len(text)) + text + b"".join(b.tobytes() for b in blobs))
    stream.flush()


def _read_exactly(stream: Any, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        data += chunk
    return data


def _receive_message(stream: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    (size,) = struct.unpack("<Q", _read_exactly(stream, 8))
    header = json.loads(_read_exactly(stream, size))
    arrays = {}
    for name, shape in header.pop("arrays"):
        count = int(np.prod(shape)) if shape else 1
        arrays[name] = np.frombuffer(_read_exactly(stream, 8 * count),
                                     dtype=np.float64).reshape(shape)
    return header, arrays


def serve(stdin: Any, stdout: Any) -> None:
    """The worker's loop: the code and limits first, then one batch per message."""
    header, _ = _receive_message(stdin)
    try:
        function = load(header["source"], header["entry"])
        _limit(Limits(**header["limits"]))
        _send(stdout, {"ready": True})
    except BaseException as exc:  # refused source, or the limits cannot be set
        _send(stdout, {"error": _describe(exc)})
        return
    while True:
        try:
            _, features = _receive_message(stdin)
        except EOFError:
            return
        try:
            rewards, terms = _call(function, features)
            _send(stdout, {"ok": True}, {"": rewards, **{f"term:{k}": v
                                                       for k, v in terms.items()}})
        except BaseException as exc:  # the reward code's own failure: report, keep serving
            _send(stdout, {"error": _describe(exc)})


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

    A plain child process (not multiprocessing's), so that job workers, which are daemons,
    can start one too.

    Example:
        >>> with Sandbox("def reward(f):\\n    return -f['d'][:, 0]") as box:
        ...     rewards, terms = box.score({"d": np.ones((4, 1))})
    """

    def __init__(self, source: str, entry: str = "reward", limits: Limits = Limits()):
        check_source(source, entry)  # refused here, before a process starts
        self.source, self.entry, self.limits = source, entry, limits
        self._process: subprocess.Popen[bytes] | None = None

    def _start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-I", __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, close_fds=True)
        _send(self._process.stdin, {"source": self.source, "entry": self.entry,
                                    "limits": dataclasses.asdict(self.limits)})
        self._receive(startup=True)

    def score(self, features: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The reward per row of ``features`` (name -> (N, k) array) and its named terms."""
        if self._process is None or self._process.poll() is not None:
            self._start()
        assert self._process is not None
        try:
            _send(self._process.stdin, {}, features)
        except (BrokenPipeError, OSError):
            self._died()
        arrays = self._receive()
        terms = {name[5:]: values for name, values in arrays.items() if name.startswith("term:")}
        return arrays[""], terms

    def _receive(self, startup: bool = False) -> dict[str, np.ndarray]:
        assert self._process is not None and self._process.stdout is not None
        wait = self.limits.wall_seconds + (30.0 if startup else 0.0)  # numpy's import first
        ready, _, _ = select.select([self._process.stdout], [], [], wait)
        if not ready:
            self.close()
            raise CodeError(f"reward code ran past {self.limits.wall_seconds:g} s and was "
                            "stopped")
        try:
            header, arrays = _receive_message(self._process.stdout)
        except (EOFError, OSError, ValueError):
            self._died()
        if "error" in header:
            if startup:
                self.close()
            raise CodeError(header["error"])
        return arrays

    def _died(self) -> typing.NoReturn:
        code = self._process.wait(5) if self._process is not None else None
        self.close()
        raise CodeError(f"reward code was killed ({_why(code)})")

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(5)
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
        self._process = None

    def __del__(self) -> None:  # a model dropped without close(): no worker left behind
        try:
            self.close()
        except Exception:  # interpreter shutdown: the child ends when its pipe closes
            pass

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _why(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        return {"SIGXCPU": "its CPU time ran out", "SIGKILL": "killed"}.get(name, name)
    return f"exit code {exitcode}"


if __name__ == "__main__":  # the worker
    serve(sys.stdin.buffer, sys.stdout.buffer)
