"""Competence-based curriculum over a scene's difficulty knob.

Training starts easy; when the recent true success rate passes ``advance_at`` the difficulty
steps up, and when it collapses below ``fall_back_at`` it steps back. After each change the
curriculum waits ``patience`` updates, since the success rate it reads still mixes episodes
from the previous difficulty. New difficulties apply to each env at its next reset. The
curriculum is a training callback; its ``history`` is what the Train panel and the run log show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym

from workbench.config import validated
from workbench.rl.ppo import TrainProgress


@dataclass(frozen=True)
@validated
class CurriculumConfig:
    start: float = field(default=0.0, metadata={
        "help": "difficulty at the start", "min": 0.0, "max": 1.0})
    step: float = field(default=0.25, metadata={
        "help": "difficulty change per stage", "gt": 0.0, "max": 1.0})
    advance_at: float = field(default=0.7, metadata={
        "help": "success rate that advances", "min": 0.0, "max": 1.0})
    fall_back_at: float = field(default=0.1, metadata={
        "help": "success rate that steps back", "min": 0.0, "max": 1.0})
    patience: int = field(default=4, metadata={"help": "updates to wait after a change", "min": 0})
    final: float = field(default=1.0, metadata={
        "help": "the difficulty to reach", "min": 0.0, "max": 1.0})


class Curriculum:
    def __init__(self, envs: gym.vector.VectorEnv, config: CurriculumConfig = CurriculumConfig()):
        self.envs = envs
        self.config = config
        self.difficulty = config.start
        self._since_change = 0
        self.history: list[dict[str, float]] = []
        self._apply()

    def _tasks(self):
        base = self.envs.unwrapped
        if not hasattr(base, "envs"):
            raise TypeError("the curriculum sets each sub-env's difficulty: use a SyncVectorEnv")
        for env in base.envs:
            task = getattr(env.unwrapped, "task", None)
            if task is None:
                raise TypeError(f"{env.unwrapped} has no workbench task with a difficulty knob")
            yield task

    def resume_at(self, difficulty: float | None) -> None:
        """Continue at a difficulty reached before (e.g. the last one a run logged)."""
        if difficulty is not None:
            self.difficulty = float(difficulty)
            self._apply()

    # A stateful callback: exact checkpoints carry it (see workbench.rl.ppo.restore_callbacks).
    def get_state(self) -> dict:
        return {"difficulty": self.difficulty, "since_change": self._since_change,
                "history": list(self.history)}

    def set_state(self, state: dict) -> None:
        self.resume_at(state["difficulty"])
        self._since_change, self.history = state["since_change"], list(state["history"])

    def _apply(self) -> None:
        for task in self._tasks():
            task.difficulty = self.difficulty

    def __call__(self, progress: TrainProgress) -> bool:
        c = self.config
        self._since_change += 1
        previous = self.difficulty
        if self._since_change >= c.patience:
            if progress.success_rate >= c.advance_at and self.difficulty < c.final:
                self.difficulty = round(min(self.difficulty + c.step, c.final), 6)
            elif progress.success_rate < c.fall_back_at and self.difficulty > c.start:
                self.difficulty = round(max(self.difficulty - c.step, c.start), 6)
        if self.difficulty != previous:
            self._since_change = 0
            self._apply()
        self.history.append({"step": progress.step, "difficulty": self.difficulty,
                             "success_rate": progress.success_rate})
        progress.extras["curriculum/difficulty"] = self.difficulty
        return True
