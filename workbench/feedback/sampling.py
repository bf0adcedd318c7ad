"""Segment sampling for comparison queries (uniform here; active selection builds on it)."""

from __future__ import annotations

import numpy as np

from workbench.data.segments import Segment
from workbench.data.workspace import Workspace


def sample_group(
    workspace: Workspace, scene: str, count: int, length: int, rng: np.random.Generator
) -> list[Segment]:
    """``count`` segments of ``length`` frames from as many different saved episodes of
    ``scene`` (a pair, or the N clips of a ranking query)."""
    rows = [r for r in workspace.episodes(scene=scene) if r["num_steps"] >= 2]
    if len(rows) < count:
        raise ValueError(
            f"ranking {count} clips needs at least {count} recorded episodes of {scene} "
            f"(there are {len(rows)}); record or roll out more"
        )
    group = []
    for index in rng.choice(len(rows), size=count, replace=False):
        row = rows[int(index)]
        span = min(length, row["num_steps"])
        start = int(rng.integers(0, row["num_steps"] - span + 1))
        group.append(Segment(row["id"], start, start + span))
    return group


def sample_pair(
    workspace: Workspace, scene: str, length: int, rng: np.random.Generator
) -> tuple[Segment, Segment]:
    """Two segments of ``length`` frames from two different saved episodes of ``scene``."""
    first, second = sample_group(workspace, scene, 2, length, rng)
    return first, second
