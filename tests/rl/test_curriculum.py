"""The competence-based curriculum: advances with success, steps back on collapse, waits after
each change, and the new difficulty reaches the environments' next episodes."""

from __future__ import annotations

import numpy as np

from workbench.rl.curriculum import Curriculum, CurriculumConfig
from workbench.rl.ppo import TrainProgress, make_vector_env


def progress(update: int, success: float) -> TrainProgress:
    return TrainProgress(update * 1000, 100_000, update, 1.0, update, 0.0, success, 0.0, {})


def test_difficulty_follows_competence_with_patience():
    envs = make_vector_env("workbench/Reach-v0", 2)
    curriculum = Curriculum(envs, CurriculumConfig(step=0.5, advance_at=0.7, fall_back_at=0.1,
                                                   patience=2))
    successes = [0.2, 0.8, 0.9, 0.9, 0.9, 0.05, 0.05, 0.9, 0.9, 0.9]
    for update, success in enumerate(successes, 1):
        curriculum(progress(update, success))
    levels = [h["difficulty"] for h in curriculum.history]
    # Update 2: first success >= 0.7 after 2 updates -> 0.5; waits 2; update 4 -> 1.0; the
    # collapse at updates 6-7 steps back once (update 6), then it climbs again at update 8.
    assert levels == [0.0, 0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0]


def test_new_difficulty_reaches_the_next_episodes():
    envs = make_vector_env("workbench/Reach-v0", 2)
    curriculum = Curriculum(envs, CurriculumConfig(start=0.0))

    def start_distances(seed):
        envs.reset(seed=seed)
        tasks = [e.unwrapped.task for e in envs.unwrapped.envs]
        return [t.start_distance for t in tasks]

    easy = np.mean([start_distances(s) for s in range(5)])
    curriculum.difficulty = 1.0
    curriculum._apply()
    hard = np.mean([start_distances(s) for s in range(5)])
    assert hard > 1.5 * easy
