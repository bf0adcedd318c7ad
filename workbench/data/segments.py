"""Windows of recorded episodes: what a person compares and ranks, and what a preference
reward is fitted on."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from workbench.data.episode import Episode
from workbench.data.workspace import Workspace


class Segment(NamedTuple):
    """Frames [start, end) of a recorded episode."""

    episode_id: int
    start: int
    end: int


class SegmentCache:
    """Loads each episode once; returns segment states and true (reference) rewards."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self._episodes: dict[int, Episode] = {}

    def _episode(self, episode_id: int) -> Episode:
        if episode_id not in self._episodes:
            self._episodes[episode_id] = self.workspace.load_episode(episode_id)
        return self._episodes[episode_id]

    def states(self, segment: tuple[int, int, int]) -> np.ndarray:
        episode_id, start, end = segment
        return self._episode(episode_id)["state"][start:end]

    def rewards(self, segment: tuple[int, int, int]) -> np.ndarray:
        episode_id, start, end = segment
        return self._episode(episode_id)["reward"][start:end]
