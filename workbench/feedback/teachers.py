"""Synthetic teachers for benchmarking preference learning (the B-Pref protocol).

A teacher answers from the scene's reference reward, which a person never writes down: the
rational oracle, and the irrational ones of Lee et al. (2021), "B-Pref": Boltzmann noise
(``beta``), myopia (``gamma``: later steps weigh more), mistakes (``epsilon``: flipped answers),
skipping when both segments are poor (``skip``), and "equal" when they are too close to call
(``equal``). Thresholds are fractions of ``scale``, a typical segment return.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Teacher:
    name: str = "oracle"
    beta: float = math.inf  # Boltzmann rationality; inf = always prefers the better segment
    gamma: float = 1.0  # myopia: weight gamma**(H-1-t) on step t
    epsilon: float = 0.0  # probability of flipping a strict answer
    skip: float = 0.0  # skip when both returns are below skip * scale
    equal: float = 0.0  # "equal" when the returns differ by less than equal * scale

    def segment_return(self, rewards: np.ndarray) -> float:
        horizon = len(rewards)
        weights = self.gamma ** np.arange(horizon - 1, -1, -1, dtype=np.float64)
        return float((weights * rewards).sum())

    def answer(
        self, left: np.ndarray, right: np.ndarray, rng: np.random.Generator, scale: float = 1.0
    ) -> str:
        """'left', 'right', 'equal' or 'skip' for two per-step true reward sequences."""
        r_left, r_right = self.segment_return(left), self.segment_return(right)
        if self.skip > 0 and max(r_left, r_right) < self.skip * scale:
            return "skip"
        if self.equal > 0 and abs(r_left - r_right) < self.equal * scale:
            return "equal"
        if math.isinf(self.beta):
            if r_left == r_right:
                return "equal"
            prefers_left = r_left > r_right
        else:
            p_left = 1.0 / (1.0 + math.exp(-self.beta * (r_left - r_right)))
            prefers_left = rng.random() < p_left
        if self.epsilon > 0 and rng.random() < self.epsilon:
            prefers_left = not prefers_left
        return "left" if prefers_left else "right"

    def rank(self, segments: list[np.ndarray], rng: np.random.Generator) -> list[int]:
        """A ranking (best first): sorted by the teacher's returns, Gumbel-perturbed when
        ``beta`` is finite (sampling a Plackett-Luce order)."""
        returns = np.array([self.segment_return(s) for s in segments])
        if not math.isinf(self.beta):
            returns = self.beta * returns + rng.gumbel(size=len(returns))
        return [int(i) for i in np.argsort(-returns, kind="stable")]


# The B-Pref teachers with the paper's default parameters.
TEACHERS = {
    "oracle": Teacher("oracle"),
    "stoc": Teacher("stoc", beta=1.0),
    "myopic": Teacher("myopic", gamma=0.9),
    "mistake": Teacher("mistake", epsilon=0.1),
    "skip": Teacher("skip", skip=0.1),
    "equal": Teacher("equal", equal=0.1),
}
