"""Stage labels of recorded episodes: from the scene's stage predicates (replayed from the saved
simulator states, so old takes get them too) or discovered from the demos themselves.

A stage counts as done from the first frame its predicate holds after the previous stage was
done: stages are cumulative and ordered ("grasped" stays done once the cube is placed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.data.episode import Episode
from workbench.envs.replay import EpisodeReplay, env_for


def stage_predicates(episode: Episode, stages: Sequence[str],
                     replay: EpisodeReplay | None = None) -> np.ndarray:
    """(T, S) booleans: each named stage predicate of the scene at every recorded frame.
    ``replay`` reuses an env built for an earlier episode of the same scene and robot."""
    own = replay is None
    replay = replay or EpisodeReplay(env_for(episode))
    env = replay.env
    try:
        unknown = [s for s in stages if s not in env.task.stage_names]
        if unknown:
            raise ValueError(f"{episode.meta['scene']} has no stages {unknown}; its stages: "
                             f"{', '.join(env.task.stage_names) or 'none'}")
        rows = []
        for t in range(len(episode)):
            replay.show(episode, t)
            truth = env.task.evaluate(env.physics)["stages"]
            rows.append([bool(truth[s]) for s in stages])
    finally:
        if own:
            env.close()
    return np.array(rows, dtype=bool).reshape(len(episode), len(stages))


def stage_times_of(episodes: Sequence[Episode], stages: Sequence[str]) -> list[np.ndarray]:
    """Each episode's stage times, replayed in one env per robot (building an env costs about
    as much as replaying a whole episode)."""
    replays: dict[str | None, EpisodeReplay] = {}
    try:
        times = []
        for episode in episodes:
            robot = episode.meta["meta"].get("robot")
            if robot not in replays:
                replays[robot] = EpisodeReplay(env_for(episode))
            times.append(stage_times(stage_predicates(episode, stages, replays[robot])))
        return times
    finally:
        for replay in replays.values():
            replay.env.close()


def stage_times(predicates: np.ndarray) -> np.ndarray:
    """(S,) frame at which each stage is first done, in order; the length when never done."""
    length, count = predicates.shape
    times = np.full(count, length)
    earliest = 0
    for k in range(count):
        hits = np.flatnonzero(predicates[earliest:, k])
        if not len(hits):
            break
        times[k] = earliest = earliest + int(hits[0])
    return times


def discover_steps(demos: Sequence[np.ndarray], steps: int) -> list[np.ndarray]:
    """Split each demo's state sequence into ``steps`` segments of least within-segment
    variance (standardised features; exact dynamic programming, after Sermanet et al. 2016,
    "Unsupervised perceptual rewards"); returns each demo's (steps,) stage times: stage k is
    done at the start of segment k + 1, the last at the demo's end."""
    if steps < 1:
        raise ValueError("discover at least one step")
    joined = np.concatenate(demos)
    scale = joined.std(axis=0) + 1e-6
    return [_segment(np.asarray(d, np.float64) / scale, steps) for d in demos]


def _segment(x: np.ndarray, steps: int) -> np.ndarray:
    n = len(x)
    if n < steps:
        raise ValueError(f"a demo of {n} frames cannot be split into {steps} steps")
    csum = np.vstack([np.zeros(x.shape[1]), np.cumsum(x, axis=0)])
    csq = np.concatenate([[0.0], np.cumsum((x**2).sum(axis=1))])

    def cost(i: int, j: np.ndarray) -> np.ndarray:  # SSE of frames i..j-1, for many j
        total = csum[j] - csum[i]
        return csq[j] - csq[i] - (total**2).sum(axis=1) / (j - i)

    best = np.full((steps + 1, n + 1), np.inf)
    back = np.zeros((steps + 1, n + 1), dtype=int)
    best[0, 0] = 0.0
    for k in range(1, steps + 1):
        for i in range(k - 1, n):
            if not np.isfinite(best[k - 1, i]):
                continue
            ends = np.arange(i + 1, n + 1)
            candidate = best[k - 1, i] + cost(i, ends)
            better = candidate < best[k, ends]
            best[k, ends[better]] = candidate[better]
            back[k, ends[better]] = i
    bounds, end = [], n
    for k in range(steps, 0, -1):
        bounds.append(end)
        end = back[k, end]
    return np.array(sorted(bounds)) - 1  # stage k done at the last frame of segment k
