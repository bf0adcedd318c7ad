"""How good is a learned reward? Measured against the scene's ground truth.

* :func:`progress_spearman`: rank correlation of learned with ground-truth progress along each
  held-out episode, averaged over episodes. An episode is scored up to its first success: after
  it the task is done, ground truth is tied at 1, and ranking noise among tied frames would be
  scored as disagreement.
* :func:`success_failure_accuracy`: fraction of (successful, failed) episode pairs in which the
  successful one ends with higher learned progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.data.episode import Episode
from workbench.rewards.families import RewardModel


def episode_progress(model: RewardModel, episode: Episode) -> np.ndarray:
    """Learned progress of every frame: from frames for perceptual models, states otherwise."""
    return model.progress_episode(episode)


def progress_spearman(model: Any, episodes: Sequence[Episode]) -> float:
    scores = []
    for episode in episodes:
        end = len(episode)
        hits = np.flatnonzero(episode.get("success", np.zeros(0, bool)))
        if len(hits):
            end = int(hits[0]) + 1
        learned = episode_progress(model, episode)[:end]
        truth = episode["progress"][:end]
        if np.ptp(truth) < 1e-9 or np.ptp(learned) < 1e-12:
            continue  # rank correlation is undefined on a constant series
        scores.append(spearmanr(learned, truth))
    if not scores:
        raise ValueError("no held-out episode has varying ground-truth progress")
    return float(np.mean(scores))


def final_progress(model: Any, episode: Episode, tail: int = 5) -> float:
    return float(episode_progress(model, episode)[-tail:].mean())


def success_failure_accuracy(
    model: Any, successes: Sequence[Episode], failures: Sequence[Episode]
) -> float:
    if not successes or not failures:
        raise ValueError("need at least one successful and one failed episode")
    good = np.array([final_progress(model, e) for e in successes])
    bad = np.array([final_progress(model, e) for e in failures])
    return float((good[:, None] > bad[None, :]).mean())


def reward_report(
    model: Any, held_out: Sequence[Episode], failures: Sequence[Episode] = ()
) -> dict[str, float]:
    """The numbers the GUI and CLI show for a reward model."""
    successes = [e for e in held_out if e.meta.get("success")]
    report: dict[str, float] = {"held_out": len(held_out)}
    if held_out:  # none: reward code on a scene without demos
        report["spearman_progress"] = progress_spearman(model, held_out)
    if successes and failures:
        report["success_vs_failure"] = success_failure_accuracy(model, successes, failures)
    if not model.cameras and (held_out or failures):  # state models: EPIC to the scene's reward
        try:
            report["epic_to_reference"] = epic_to_reference(
                lambda states: model.score(states), [*held_out, *failures])
        except ValueError:  # a constant reward on these episodes: EPIC is undefined
            pass
    return report


def epic_to_reference(score, episodes: Sequence[Episode]) -> float:
    """EPIC distance (see :mod:`workbench.rewards.epic`) between a state reward ``score(states)``
    and the scene's reference reward recorded with the episodes' frames (looked up at the
    nearest recorded state), on the episodes' transitions: 0 = the same up to shaping and
    scale, 0.5 = unrelated."""
    from scipy.spatial import cKDTree

    from workbench.rewards.epic import epic_distance, episodes_transitions

    states = np.concatenate([e["state"] for e in episodes])
    recorded = np.concatenate([e["reward"] for e in episodes])
    tree = cKDTree(states)
    s, s_next, coverage = episodes_transitions(episodes, coverage_size=48)
    return epic_distance(lambda a, b: np.asarray(score(b), np.float64),
                         lambda a, b: recorded[tree.query(b)[1]], s, s_next, coverage)


def spearmanr(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (scipy's). Imported here, not at the top: scipy.stats
    takes a second to import, which every process of the workbench (each CLI call, each Ray
    worker) would pay whether or not it scores anything."""
    from scipy.stats import spearmanr as scipy_spearmanr

    return float(scipy_spearmanr(a, b).statistic)
