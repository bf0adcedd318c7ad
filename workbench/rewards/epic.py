"""EPIC: a distance between reward functions that ignores potential-based shaping and scale.

Two rewards that differ by a potential shaping term ``gamma * phi(s') - phi(s)``, a positive
factor or a constant make every policy behave the same, yet their per-step values can look
nothing alike; Spearman against one of them then misleads. EPIC (Gleave et al., 2021, "Quantifying
Differences in Reward Functions") first *canonicalises* each reward over a coverage distribution
of transitions, which removes any shaping term exactly, then takes the Pearson distance
``sqrt((1 - rho) / 2)`` in [0, 1]: 0 for equivalent rewards, 0.5 for unrelated ones, 1 for
opposite ones.

Rewards here are functions of a transition's states, ``reward(s, s_next) -> (N,)`` (actions do
not enter the workbench's learned rewards). The expectations over the coverage distribution are
estimated from samples of recorded states, all batched.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TransitionReward = Callable[[np.ndarray, np.ndarray], np.ndarray]


def canonicalise(reward: TransitionReward, s: np.ndarray, s_next: np.ndarray,
                 coverage: np.ndarray, gamma: float) -> np.ndarray:
    """C(R)(s, s') = R(s, s') + gamma E[R(s', S')] - E[R(s, S')] - gamma E[R(S, S')], with S, S'
    drawn independently from ``coverage`` (an (M, d) array of states)."""
    m = len(coverage)

    def mean_from(states: np.ndarray) -> np.ndarray:  # E over S' of R(state, S'), per state
        n = len(states)
        pairs_from = np.repeat(states, m, axis=0)
        pairs_to = np.tile(coverage, (n, 1))
        return reward(pairs_from, pairs_to).reshape(n, m).mean(axis=1)

    offset = float(mean_from(coverage).mean())  # E over S and S'
    return reward(s, s_next) + gamma * mean_from(s_next) - mean_from(s) - gamma * offset


def epic_distance(first: TransitionReward, second: TransitionReward, s: np.ndarray,
                  s_next: np.ndarray, coverage: np.ndarray, gamma: float = 0.99) -> float:
    """The EPIC pseudometric between two rewards on the transitions (s, s_next)."""
    a = canonicalise(first, s, s_next, coverage, gamma)
    b = canonicalise(second, s, s_next, coverage, gamma)
    if a.std() < 1e-12 or b.std() < 1e-12:
        raise ValueError("a canonicalised reward is constant on these transitions (a pure "
                         "shaping term or a constant): EPIC is undefined for it")
    rho = float(np.corrcoef(a, b)[0, 1])
    return float(np.sqrt(max(0.0, (1.0 - rho) / 2.0)))


def episodes_transitions(episodes, max_transitions: int = 2_000, coverage_size: int = 64,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s, s_next) pairs of recorded episodes and a coverage sample of their states."""
    rng = np.random.default_rng(seed)
    starts, ends = [], []
    for episode in episodes:
        states = np.concatenate([episode.initial()["state"][None], episode["state"]])
        starts.append(states[:-1])
        ends.append(states[1:])
    s, s_next = np.concatenate(starts), np.concatenate(ends)
    pick = rng.choice(len(s), min(max_transitions, len(s)), replace=False)
    pool = np.concatenate([s, s_next])
    coverage = pool[rng.choice(len(pool), min(coverage_size, len(pool)), replace=False)]
    return s[pick], s_next[pick], coverage
