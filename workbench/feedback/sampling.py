"""Segment sampling for comparison queries (uniform here; active selection builds on it)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from workbench.data.workspace import Workspace


class Segment(NamedTuple):
    episode_id: int
    start: int
    end: int


def sample_pair(
    workspace: Workspace, scene: str, length: int, rng: np.random.Generator
) -> tuple[Segment, Segment]:
    """Two segments of ``length`` frames from two different saved episodes of ``scene``."""
    rows = [r for r in workspace.episodes(scene=scene) if r["num_steps"] >= 2]
    if len(rows) < 2:
        raise ValueError(
            f"ranking needs at least two recorded episodes of {scene}; record or roll out more"
        )
    first, second = rng.choice(len(rows), size=2, replace=False)
    pair = []
    for index in (first, second):
        row = rows[int(index)]
        span = min(length, row["num_steps"])
        start = int(rng.integers(0, row["num_steps"] - span + 1))
        pair.append(Segment(row["id"], start, start + span))
    return pair[0], pair[1]
