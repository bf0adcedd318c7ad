"""Turn progress into per-step rewards.

``progress``: r = phi(s'), dense and bounded in [0, 1].
``delta``: r = gamma * phi(s') - phi(s), potential-based: its sum over an episode telescopes to
(nearly) phi(s_T) - phi(s_0), so a policy cannot farm it by dithering, and added to a base
reward it keeps that reward's optimal policy (Ng et al., 1999).
"""

from __future__ import annotations

import numpy as np

TRANSFORMS = ("progress", "delta")


def progress_reward(
    phi_next: np.ndarray, phi_prev: np.ndarray | None, kind: str, gamma: float
) -> np.ndarray:
    if kind == "progress":
        return phi_next
    if kind == "delta":
        if phi_prev is None:
            raise ValueError("the delta transform needs the previous progress")
        return gamma * phi_next - phi_prev
    raise ValueError(f"unknown reward transform {kind!r}; choose one of {TRANSFORMS}")
