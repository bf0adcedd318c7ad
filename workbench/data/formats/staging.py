"""Imports are all or nothing: a dataset is read and checked whole before anything is written,
and an import that fails on the way leaves the workspace as it was.

A file from another tool or another person is input like any other: every episode's arrays must
be finite numbers of consistent lengths, every sidecar field of the expected type, every
preference must point inside the imported episodes. What is wrong is one :class:`DatasetError`
naming the file and the episode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.data.formats.sidecar import SIDECAR_FORMAT, restore_labels, write_episode
from workbench.data.workspace import Workspace
from workbench.registry import SCENES


class DatasetError(ValueError):
    """A dataset cannot be imported: the message names the file, the episode and the fault."""


def reading_error(what: str, exc: BaseException) -> DatasetError:
    """A library's read error as one line (parquet and HDF5 messages span several)."""
    detail = " ".join(str(exc).split())[:300]
    return DatasetError(f"{what} ({type(exc).__name__}: {detail})")


@dataclass
class StagedEpisode:
    info: dict[str, Any]  # scene, source, seed, goal, success, meta
    frames: dict[str, np.ndarray]
    initial: dict[str, np.ndarray]


_VECTORS = ("action", "state", "sim_state")
_PER_STEP = ("reward", "progress", "success")


def check_episode(episode: StagedEpisode, where: str) -> StagedEpisode:
    """Raise :class:`DatasetError` unless ``episode`` is one the workbench can store."""
    info, frames = episode.info, episode.frames
    if not isinstance(info.get("scene"), str) or info["scene"] not in SCENES.names():
        raise DatasetError(f"{where}: scene {info.get('scene')!r} is not one of "
                           f"{', '.join(SCENES.names())}")
    for key, kinds in (("source", (str,)), ("seed", (int, type(None))),
                       ("goal", (str, type(None))), ("success", (int, type(None))),
                       ("meta", (dict, type(None)))):
        if not isinstance(info.get(key), kinds) or (key == "seed" and isinstance(info[key], bool)):
            raise DatasetError(f"{where}: {key} is {info.get(key)!r}, not a "
                               f"{' or '.join(k.__name__ for k in kinds)}")
    if info.get("success") not in (None, True, False):  # the index stores 0 and 1
        raise DatasetError(f"{where}: success is {info['success']!r}, not true, false or null")
    length = len(frames["action"])
    if length < 1:
        raise DatasetError(f"{where}: the episode has no steps")
    for key, array in {**frames, **{f"initial {k}": v for k, v in episode.initial.items()}}.items():
        if array.dtype.kind not in "biuf":
            raise DatasetError(f"{where}: {key} holds {array.dtype}, not numbers")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise DatasetError(f"{where}: {key} holds NaN or infinite values")
    for key in frames:
        if len(frames[key]) != length:
            raise DatasetError(f"{where}: {key} has {len(frames[key])} steps, action has {length}")
    for key in _VECTORS:
        before = episode.initial.get(key, frames[key][0])  # no action before the first step
        if frames[key].ndim != 2 or before.shape != frames[key].shape[1:]:
            raise DatasetError(f"{where}: {key} is not one vector per step (shape "
                               f"{frames[key].shape}, initial {before.shape})")
    for key in _PER_STEP:
        if frames[key].ndim != 1:
            raise DatasetError(f"{where}: {key} is not one value per step ({frames[key].shape})")
    return episode


def check_labels(sidecar: dict[str, Any], episodes: list[StagedEpisode], where: str) -> None:
    """Goals and preferences of a sidecar, before any is stored."""
    for goal in sidecar.get("goals", []):
        if not (isinstance(goal, dict) and isinstance(goal.get("text"), str)
                and goal["text"].strip() and all(isinstance(goal.get(k), (str, type(None)))
                                                 for k in ("scene", "baseline"))):
            raise DatasetError(f"{where}: goal {goal!r} is not a text with a scene and baseline")
    for pref in sidecar.get("preferences", []):
        try:
            segments = pref["segments"]
            ok = isinstance(pref["kind"], str) and isinstance(pref["teacher"], str) and all(
                len(s) == 3 and all(type(v) is int for v in s)
                and 0 <= s[0] < len(episodes) and 0 <= s[1] < s[2]
                <= len(episodes[s[0]].frames["action"]) for s in segments) and len(segments) >= 2
        except (KeyError, TypeError):
            ok = False
        if not ok:
            raise DatasetError(f"{where}: preference {pref!r} does not point at segments of the "
                               "imported episodes")


def sidecar_episode(sidecar: dict[str, Any] | None, index: int, scene: str | None,
                    source: str, where: str) -> dict[str, Any]:
    """An episode's workbench metadata: from the sidecar, or for datasets without one the
    scene named by the person (and no goal, seed or success)."""
    if sidecar is None:
        return {"scene": scene, "source": source, "seed": None, "goal": None,
                "success": None, "meta": {"imported_from": source}}
    episodes = sidecar.get("episodes")
    if not isinstance(episodes, list) or not 0 <= index < len(episodes) or not isinstance(
            episodes[index], dict):
        raise DatasetError(f"{where}: the sidecar has no entry for episode {index}")
    entry: dict[str, Any] = episodes[index]
    return entry


def read_optional_sidecar(path: Path, scene: str | None) -> dict[str, Any] | None:
    """The sidecar at ``path``; None when there is none and the scene is named instead."""
    if not path.exists():
        if scene is None:
            raise DatasetError(f"no workbench sidecar at {path}: name the scene the episodes "
                               "belong to (--scene); goals and preferences are then not imported")
        return None
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
        raise DatasetError(f"{path} is not a workbench sidecar")
    if scene is not None:  # the person's scene wins over the file's
        for episode in data.get("episodes", []):
            if isinstance(episode, dict):
                episode["scene"] = scene
    return data


def store(workspace: Workspace, episodes: list[StagedEpisode],
          sidecar: dict[str, Any] | None) -> list[int]:
    """Write checked episodes (and the sidecar's labels); on any failure remove what was
    written, so the workspace is as it was before the import."""
    ids: list[int] = []
    try:
        for episode in episodes:
            ids.append(write_episode(workspace, episode.info, episode.frames, episode.initial))
        if sidecar is not None:
            restore_labels(workspace, sidecar, ids)
    except BaseException:
        for episode_id in ids:
            workspace.delete_episode(episode_id)
        raise
    return ids
