"""The competence-based curriculum: advances with success, steps back on collapse, waits after
each change, and the new difficulty reaches the environments' next episodes.

What it buys in training (sparse Reach: full difficulty from the start against the curriculum)
depends on when PPO first finds the target, which varies with the seed and the processor: it
is measured over seeds by ``benchmarks/curriculum.py`` (docs/BENCHMARKS.md), not asserted here.
"""

from __future__ import annotations

from pathlib import Path

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


def test_a_run_with_curriculum_logs_its_stage_to_jsonl_and_tensorboard(tmp_path):
    import json

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from workbench import config as cfg
    from workbench.data.workspace import Workspace
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    config = cfg.override(RunConfig(scene="Reach"), [
        "reward=reference", "curriculum=true", "difficulty=1.0", "ppo.total_steps=2048",
        "ppo.num_envs=4", "ppo.rollout_steps=128", "eval_episodes=2"])
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        result = train_run(ws, config)
    run = Path(result["path"])
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["curriculum/difficulty"] == 0.0 for r in records)
    assert result["final_difficulty"] == 0.0  # 4 updates: patience has not passed yet
    board = EventAccumulator(str(run / "tb"))
    board.Reload()
    steps = [e.step for e in board.Scalars("charts/success_rate")]
    assert steps == [r["step"] for r in records]
    assert "curriculum/difficulty" in board.Tags()["scalars"]


def test_checkpoints_carry_the_curriculum():
    from workbench.rl.ppo import restore_callbacks

    envs = make_vector_env("workbench/Reach-v0", 2)
    first = Curriculum(envs, CurriculumConfig(patience=1))
    for step in (1, 2):
        first(TrainProgress(step, 10, step, 0.0, 0, 0.0, 1.0, 0.0, {}))
    assert first.difficulty == 0.5
    resumed = Curriculum(envs, CurriculumConfig(patience=1))
    restore_callbacks((resumed,), [resumed.get_state()], "old")  # its own fresh state: 0
    assert resumed.difficulty == 0.0
    restore_callbacks((resumed,), [first.get_state()], "ckpt")
    assert (resumed.difficulty, resumed.history) == (0.5, first.history)
    assert all(env.unwrapped.task.difficulty == 0.5 for env in envs.unwrapped.envs)
    envs.close()
