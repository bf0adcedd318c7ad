"""Have a synthetic teacher answer sampled (optionally actively selected) queries and store its
answers in the Workspace exactly as a person's would be stored."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.data.segments import SegmentCache
from workbench.data.workspace import Workspace
from workbench.feedback.active import select_queries
from workbench.feedback.sampling import sample_pair
from workbench.feedback.teachers import Teacher


def teach(
    workspace: Workspace,
    scene: str,
    teacher: Teacher,
    count: int,
    rng: np.random.Generator,
    length: int = 20,
    model: Any = None,  # a preference ensemble: ask where it disagrees most
    oversample: int = 5,
    features: dict[str, int] | None = None,
) -> list[int]:
    """Sample ``count`` queries (the most disputed of ``oversample * count`` candidates when a
    model is given), let ``teacher`` answer from the true rewards, store the answers. Each
    query's clips are of one robot's takes: those recorded with ``features`` where given, else
    the model's robot's, else each query's drawn by the takes' shares."""
    cache = SegmentCache(workspace)
    pool = count * (oversample if model is not None else 1)
    features = features or getattr(model, "features", None)
    candidates = [sample_pair(workspace, scene, length, rng, features) for _ in range(pool)]
    chosen = select_queries(model, candidates, cache.states, count)
    scale = float(np.mean([cache.rewards(s).sum() for pair in chosen for s in pair])) or 1.0
    ids = []
    for left, right in chosen:
        answer = teacher.answer(cache.rewards(left), cache.rewards(right), rng, scale)
        ids.append(workspace.add_preference([left, right], answer,
                                            teacher=teacher.name))
    return ids
