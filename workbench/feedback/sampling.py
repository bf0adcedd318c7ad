"""Segment sampling for comparison queries (uniform here; active selection builds on it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.data.episode import layout_key
from workbench.data.segments import Segment
from workbench.data.workspace import Workspace


def sample_group(
    workspace: Workspace, scene: str, count: int, length: int, rng: np.random.Generator,
    features: dict[str, int] | None = None,
) -> list[Segment]:
    """``count`` segments of ``length`` frames from as many different saved episodes of
    ``scene`` (a pair, or the N clips of a ranking query), all recorded with one observation
    layout: ``features`` where it has enough takes, else one drawn by its share of them. A
    reward over states reads one robot's takes, so a query across two robots' takes would be a
    label no fit can use."""
    rows = [r for r in workspace.episodes(scene=scene) if r["num_steps"] >= 2]
    if len(rows) < count:
        raise ValueError(
            f"ranking {count} clips needs at least {count} recorded episodes of {scene} "
            f"(there are {len(rows)}); record or roll out more"
        )
    rows = _one_layout(rows, count, features, rng, scene)
    group = []
    for index in rng.choice(len(rows), size=count, replace=False):
        row = rows[int(index)]
        span = min(length, row["num_steps"])
        start = int(rng.integers(0, row["num_steps"] - span + 1))
        group.append(Segment(row["id"], start, start + span))
    return group


def sample_pair(
    workspace: Workspace, scene: str, length: int, rng: np.random.Generator,
    features: dict[str, int] | None = None,
) -> tuple[Segment, Segment]:
    """Two segments of ``length`` frames from two different saved episodes of ``scene``
    recorded with one observation layout (``features``'s where it can)."""
    first, second = sample_group(workspace, scene, 2, length, rng, features)
    return first, second


def _one_layout(rows: list[dict[str, Any]], count: int, features: dict[str, int] | None,
                rng: np.random.Generator, scene: str) -> list[dict[str, Any]]:
    layouts: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        layouts.setdefault(layout_key(row["meta"].get("features")), []).append(row)
    if len(layouts) == 1:
        return rows
    wanted = layouts.get(layout_key(features), [])
    if len(wanted) >= count:
        return wanted
    enough = [takes for takes in layouts.values() if len(takes) >= count]
    if not enough:
        raise ValueError(f"ranking {count} clips needs at least {count} recorded episodes of "
                         f"{scene} by one robot (the scene has takes of several, fewer of "
                         "each); record or roll out more")
    shares = np.array([len(takes) for takes in enough], float)
    return enough[int(rng.choice(len(enough), p=shares / shares.sum()))]
