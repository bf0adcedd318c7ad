"""Episodes stored as one append-only raw array file per key.

Why raw rows rather than HDF5 or npz: each frame is appended and flushed as it happens, and a
reader simply ignores a trailing partial row, so a crash mid-recording loses nothing that was
already written. An HDF5 file whose writer dies mid-write can be unreadable as a whole.
``schema.json`` beside the arrays gives each key's dtype and per-frame shape.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = "schema.json"
INITIAL = "initial.npz"


def _file_name(key: str) -> str:
    return key.replace("/", "__") + ".bin"


@dataclass
class Episode:
    """A recorded episode: metadata from the index plus lazily read arrays."""

    id: int
    folder: Path
    meta: dict[str, Any]
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def schema(self) -> dict[str, dict[str, Any]]:
        path = self.folder / SCHEMA
        return json.loads(path.read_text()) if path.exists() else {}

    def keys(self) -> list[str]:
        return list(self.schema)

    def __len__(self) -> int:
        """Number of complete frames (the shortest key, so every key has them all)."""
        lengths = [len(self[k]) for k in self.schema]
        return min(lengths) if lengths else 0

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._cache:
            spec = self.schema.get(key)
            if spec is None:
                raise KeyError(f"episode {self.id} has no array {key!r}; it has {self.keys()}")
            try:  # a schema.json from anywhere: plain numbers only, never object arrays
                dtype = np.dtype(spec["dtype"])
                shape = tuple(spec["shape"])
                if dtype.kind not in "biufc" or not all(type(n) is int and n >= 0 for n in shape):
                    raise ValueError(f"dtype {dtype} and shape {shape} are not a plain array's")
            except (TypeError, ValueError, KeyError) as exc:
                raise ValueError(f"{self.folder / SCHEMA} is invalid for {key!r}: {exc}") from None
            row = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            raw = np.fromfile(self.folder / _file_name(key), dtype=np.uint8)
            rows = len(raw) // row if row else 0
            self._cache[key] = raw[: rows * row].view(dtype).reshape((rows, *shape))
        return self._cache[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self.schema else default

    def initial(self) -> dict[str, np.ndarray]:
        """The observation and simulator state before the first action."""
        path = self.folder / INITIAL
        if not path.exists():
            return {}
        # numpy's default allow_pickle=False refuses object arrays; members that are not
        # numeric arrays (raw bytes of other zip members) are refused here.
        loaded = np.load(path)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"{path} is not an .npz archive of the episode's initial state")
        with loaded as data:
            arrays = {k: data[k] for k in data.files}
        bad = [k for k, v in arrays.items()
               if not isinstance(v, np.ndarray) or v.dtype.kind not in "biufc"]
        if bad:
            raise ValueError(f"{path} holds {bad}, which are not numeric arrays")
        return arrays


class EpisodeWriter:
    """Append frames as they happen; then :meth:`save` or :meth:`discard` (lerobot-style).

    Example:
        >>> writer = workspace.new_episode(scene="Push", source="teleop")
        >>> writer.add_frame(state=obs, action=action)
        >>> episode_id = writer.save(success=True)
    """

    def __init__(
        self,
        folder: Path,
        episode_id: int,
        on_save: Callable[[int, int, dict[str, Any]], None],
        on_discard: Callable[[int], None],
    ):
        self.folder = folder
        self.id = episode_id
        self._on_save = on_save
        self._on_discard = on_discard
        self._files: dict[str, Any] = {}
        self._schema: dict[str, dict[str, Any]] = {}
        self.num_frames = 0
        self.closed = False

    def set_initial(self, **arrays: Any) -> None:
        """Store the state before the first action (for exact replay and branching)."""
        saved: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
        np.savez(self.folder / INITIAL, **saved)

    def add_frame(self, **arrays: Any) -> None:
        if self.closed:
            raise RuntimeError(f"episode {self.id} is already saved or discarded")
        if not self._schema:
            for key, value in arrays.items():
                value = np.asarray(value)
                self._schema[key] = {"dtype": value.dtype.str, "shape": list(value.shape)}
                self._files[key] = open(self.folder / _file_name(key), "ab")  # noqa: SIM115
            tmp = self.folder / (SCHEMA + ".tmp")
            tmp.write_text(json.dumps(self._schema, indent=1))
            os.replace(tmp, self.folder / SCHEMA)
        if set(arrays) != set(self._schema):
            raise ValueError(
                f"frame keys {sorted(arrays)} differ from the episode's {sorted(self._schema)}"
            )
        for key, value in arrays.items():
            spec = self._schema[key]
            value = np.asarray(value, dtype=np.dtype(spec["dtype"]))
            if list(value.shape) != spec["shape"]:
                raise ValueError(f"{key}: shape {value.shape}, expected {tuple(spec['shape'])}")
            self._files[key].write(value.tobytes())
        for handle in self._files.values():
            handle.flush()
        self.num_frames += 1

    def _close_files(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self.closed = True

    def save(self, **meta: Any) -> int:
        self._close_files()
        self._on_save(self.id, self.num_frames, meta)
        return self.id

    def discard(self) -> None:
        self._close_files()
        shutil.rmtree(self.folder, ignore_errors=True)
        self._on_discard(self.id)

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        # An exception keeps what was written (status stays "recording", recoverable).
        if not self.closed:
            self._close_files()


def layout_key(features: dict[str, int] | None) -> str:
    """One string per observation layout (the features an episode was recorded with: its
    robot's, in effect), so takes can be grouped by what stacks into one state reward's data."""
    return json.dumps(features, sort_keys=True)


def one_robot(rows: list[dict[str, Any]], scene: str, why: str) -> dict[str, Any]:
    """The metadata of episode ``rows``, refused where they come from robots whose
    observations differ (arm7's takes beside arm6's do not stack); ``why`` says who needs one
    layout and what to do, ``{robots}`` in it naming the robots found ("arm6 or so101")."""
    layouts: dict[str, list[str]] = {}
    for row in rows:
        layouts.setdefault(layout_key(row["meta"].get("features")), []).append(
            row["meta"].get("robot") or "?")
    if len(layouts) > 1:
        counts = "; ".join(f"{', '.join(sorted(set(robots)))}: {len(robots)}"
                           for robots in layouts.values())
        found = " or ".join(sorted({r for robots in layouts.values() for r in robots}))
        raise ValueError(f"{scene}'s episodes here come from robots whose observations differ "
                         f"({counts} episodes); {why.format(robots=found)}")
    meta: dict[str, Any] = rows[0]["meta"]
    return meta
