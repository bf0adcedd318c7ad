"""EPIC distance: shaping- and scale-invariant, and it separates different rewards."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from workbench.rewards.epic import epic_distance, episodes_transitions

GAMMA = 0.9


def test_epic_ignores_shaping_and_scale_and_tells_rewards_apart():
    rng = np.random.default_rng(0)
    s, s_next = rng.normal(size=(500, 3)), rng.normal(size=(500, 3))
    coverage = rng.normal(size=(64, 3))
    base = lambda a, b: b[:, 0] - 0.5 * b[:, 1] ** 2  # noqa: E731
    phi = lambda x: np.sin(3 * x[:, 2]) + x[:, 0] * x[:, 1]  # noqa: E731
    shaped = lambda a, b: 3.0 * base(a, b) + 2.0 + GAMMA * phi(b) - phi(a)  # noqa: E731
    other = lambda a, b: b[:, 2]  # noqa: E731
    opposite = lambda a, b: -base(a, b)  # noqa: E731
    assert epic_distance(base, shaped, s, s_next, coverage, GAMMA) < 1e-6
    assert epic_distance(base, other, s, s_next, coverage, GAMMA) == pytest.approx(0.707, abs=0.1)
    assert epic_distance(base, opposite, s, s_next, coverage, GAMMA) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="pure shaping"):
        epic_distance(base, lambda a, b: GAMMA * phi(b) - phi(a), s, s_next, coverage, GAMMA)


def test_learned_progress_is_closer_to_the_reference_than_random_rewards(push_dataset):
    from workbench.rewards.progress import ProgressConfig
    from workbench.rewards.workflow import fit_progress_in_workspace

    ws, ids = push_dataset
    model, _ = fit_progress_in_workspace(ws, "Push", ProgressConfig(epochs=60))
    episodes = [ws.load_episode(i) for i in ids["held_out"][:5] + ids["held_out_random"][:5]]
    s, s_next, coverage = episodes_transitions(episodes, coverage_size=48)
    # The scene's reference reward of a state is recorded with each frame; fit a lookup of it
    # over the states we have by nearest neighbour, so it is a function of (s, s').
    states = np.concatenate([e["state"] for e in episodes])
    rewards = np.concatenate([e["reward"] for e in episodes])

    tree = cKDTree(states)

    def reference(a, b):
        return rewards[tree.query(b)[1]]

    learned = lambda a, b: model.progress(b)  # noqa: E731
    noise = np.random.default_rng(1).normal(size=states.shape[1])
    unrelated = lambda a, b: np.tanh(b @ noise)  # noqa: E731
    close = epic_distance(learned, reference, s, s_next, coverage)
    far = epic_distance(unrelated, reference, s, s_next, coverage)
    assert close < 0.35 and close < far - 0.1, (close, far)
    # The reward report carries the same measure.
    from workbench.rewards.metrics import epic_to_reference

    assert epic_to_reference(model.progress, episodes) == pytest.approx(close)
