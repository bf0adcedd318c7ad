"""Preference labels stored in a Workspace, as training queries."""

from __future__ import annotations

import numpy as np

from workbench.data.episode import Episode
from workbench.data.workspace import Workspace
from workbench.rewards.preference.fit import LabelledQuery


class SegmentCache:
    """Loads each episode once; returns segment states and true (reference) rewards."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self._episodes: dict[int, Episode] = {}

    def _episode(self, episode_id: int) -> Episode:
        if episode_id not in self._episodes:
            self._episodes[episode_id] = self.workspace.load_episode(episode_id)
        return self._episodes[episode_id]

    def states(self, segment) -> np.ndarray:
        episode_id, start, end = segment
        return self._episode(episode_id)["state"][start:end]

    def rewards(self, segment) -> np.ndarray:
        episode_id, start, end = segment
        return self._episode(episode_id)["reward"][start:end]


def queries_from_workspace(
    workspace: Workspace, teacher: str | None = None, scene_ids: set[int] | None = None,
    cache: SegmentCache | None = None,
) -> list[LabelledQuery]:
    """Stored pair and ranking labels as training queries (optionally one teacher's, or only
    those whose segments all come from ``scene_ids``); a ``cache`` kept between calls reads
    each episode once."""
    cache = cache or SegmentCache(workspace)
    queries = []
    for pref in workspace.preferences():
        if teacher is not None and pref.teacher != teacher:
            continue
        if scene_ids is not None and not all(s[0] in scene_ids for s in pref.segments):
            continue
        if pref.kind not in ("pair", "ranking"):
            continue
        states = tuple(cache.states(s) for s in pref.segments)
        queries.append(LabelledQuery(states, pref.answer, pref.kind))
    return queries
