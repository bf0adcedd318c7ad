"""A real robot's joint trajectories in LeRobot v3's layout (what ``lerobot-record`` writes for
an SO-101: ``action`` is the commanded joint positions, ``observation.state`` the measured ones,
both named ``<motor>.pos``): read, to replay a real robot's dataset through its simulated twin,
and declared (:class:`RobotJoints`), for ``export_lerobot`` to write simulated takes that way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.data.formats.staging import DatasetError


@dataclass(frozen=True)
class RobotJoints:
    """Takes as the real robot's joints: what ``export_lerobot(joints=...)`` writes as
    ``observation.state`` and ``action`` in place of the workbench's own columns."""

    robot_type: str  # LeRobot's name for the real robot ("so101_follower")
    names: list[str]  # "<motor>.pos", in the robot's order
    # episode id -> (measured before each step, commanded during it), each (T, joints), in
    # LeRobot's units (degrees; a gripper in % of its span)
    episodes: dict[int, tuple[np.ndarray, np.ndarray]]


@dataclass
class JointTrajectories:
    fps: float
    names: list[str]  # the motors, in the dataset's order ("shoulder_pan.pos", ...)
    robot_type: str
    episodes: list[tuple[np.ndarray, np.ndarray]]  # (commanded, measured), each (T, joints)


def dimension_names(feature: dict[str, Any]) -> list[str] | None:
    """The names a LeRobot feature gives its dimensions, where it names them all."""
    names = feature.get("names")
    if isinstance(names, dict):  # older writers: {"motors": [...]}
        names = next(iter(names.values()), None)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return names


def holds_joints(features: dict[str, Any]) -> bool:
    """Whether a dataset's ``action`` is a robot's joint positions (``shoulder_pan.pos``, ...),
    as ``lerobot-record`` writes them."""
    names = dimension_names(features.get("action", {}))
    if not names:
        return False
    return all(n.endswith(".pos") for n in names)


def _names(feature: dict[str, Any], key: str, folder: Path) -> list[str]:
    names = dimension_names(feature)
    if names is None:
        raise DatasetError(f"{folder}: meta/info.json names no joints for {key}")
    return names


def read_joint_trajectories(folder: str | Path, episodes: int | None = None
                            ) -> JointTrajectories:
    """Read the first ``episodes`` (default: all) episodes' commanded and measured joints."""
    folder = Path(folder)
    info_path = folder / "meta/info.json"
    if not info_path.exists():
        raise DatasetError(f"{folder} is not a LeRobot dataset: no meta/info.json")
    try:
        info = json.loads(info_path.read_text())
        features = info["features"]
        if not str(info.get("codebase_version", "")).startswith("v3"):
            raise DatasetError(f"{folder} is LeRobot {info.get('codebase_version')}; this "
                               "reads v3.x")
        for key in ("action", "observation.state"):
            if key not in features:
                raise DatasetError(f"{folder} has no {key}: replay needs the commanded "
                                   "(action) and measured (observation.state) joints")
        names = _names(features["action"], "action", folder)
        if _names(features["observation.state"], "observation.state", folder) != names:
            raise DatasetError(f"{folder}: action and observation.state name other joints")
        files = sorted((folder / "data").rglob("*.parquet"))
        if not files:
            raise DatasetError(f"{folder} has no data/*.parquet files")
        table = pa.concat_tables([pq.read_table(p, columns=[
            "episode_index", "frame_index", "action", "observation.state"]) for p in files])
        data = table.to_pydict()
    except (KeyError, TypeError, ValueError, OSError, pa.ArrowException) as exc:
        raise DatasetError(f"{folder} is not a readable LeRobot v3 dataset ({exc})") from None
    index = np.asarray(data["episode_index"])
    order = np.lexsort((np.asarray(data["frame_index"]), index))
    commanded = np.asarray(data["action"], np.float64)[order]
    measured = np.asarray(data["observation.state"], np.float64)[order]
    index = index[order]
    out = []
    for episode in np.unique(index)[:episodes]:
        rows = index == episode
        out.append((commanded[rows], measured[rows]))
    return JointTrajectories(float(info["fps"]), names, str(info.get("robot_type") or ""), out)
