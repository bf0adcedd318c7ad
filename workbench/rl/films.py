"""Films of a policy while it trains, as cleanrl's ``capture_video`` and RL Zoo's evaluation
videos keep them: every ``film_every`` updates (SAC: log intervals) one deterministic episode
of the policy so far, from one fixed start, into the run's ``films/`` folder, named by the
step, and the final policy's (``final.mp4``). A run on a cluster or in a terminal can then be
watched afterwards, as the app's viewport shows it live.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.envs.film import film_episode
from workbench.rl.ppo import TrainProgress

FILM_SEED = 30_000  # the filmed episode's start: apart from the evaluation's and the guard's
FINAL = "final"  # the saved policy's film: films/final.mp4


def film_of(run_dir: Path, name: str) -> Path:
    """Where a run keeps the film called ``name``."""
    return run_dir / "films" / f"{name}.mp4"


class Filming:
    """A training callback; films on ``env`` (the run's evaluation env, off the rollouts)."""

    def __init__(self, env: Any, run_dir: Path, every: int):
        self.env, self.run_dir, self.every = env, run_dir, every

    def __call__(self, progress: TrainProgress) -> None:
        if progress.policy is not None and progress.update % self.every == 0:
            self.film(progress.policy, f"step-{progress.step:09d}")

    def film(self, policy: Any, name: str) -> Path:
        """One episode of ``policy`` (its deterministic action) into ``films/<name>.mp4``."""
        path = film_of(self.run_dir, name)
        film_episode(self.env, policy.act, path, FILM_SEED)
        return path
