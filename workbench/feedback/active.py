"""Active query selection: ask about the pairs the reward ensemble disagrees on most."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from workbench.data.segments import Segment


def pair_disagreement(model: Any, pairs_states: Sequence[tuple[np.ndarray, np.ndarray]]
                      ) -> np.ndarray:
    """Std over ensemble members of P(left > right), per candidate pair (one batched pass)."""
    if not pairs_states:
        return np.zeros(0)
    flat = np.concatenate([s for pair in pairs_states for s in pair])
    members = model.member_rewards(flat)  # (K, total states)
    bounds = np.cumsum([0] + [len(s) for pair in pairs_states for s in pair])
    returns = np.stack(
        [members[:, bounds[i] : bounds[i + 1]].sum(axis=1) for i in range(len(bounds) - 1)],
        axis=1,
    ).reshape(members.shape[0], len(pairs_states), 2)
    # The logistic as tanh: no overflow when segment returns differ by hundreds (locomotion).
    p_left = 0.5 * (1.0 + np.tanh(0.5 * (returns[..., 0] - returns[..., 1])))
    disagreement: np.ndarray = p_left.std(axis=0)
    return disagreement


def select_queries(
    model: Any,  # a preference ensemble: member_rewards(states)
    candidates: Sequence[tuple[Segment, Segment]],
    states_of: Callable[[Segment], np.ndarray],
    count: int,
) -> list[tuple[Segment, Segment]]:
    """The ``count`` candidates with the highest ensemble disagreement (uniform if no model)."""
    if model is None or len(candidates) <= count:
        return list(candidates)[:count]
    scores = pair_disagreement(model, [(states_of(a), states_of(b)) for a, b in candidates])
    return [candidates[i] for i in np.argsort(-scores)[:count]]
