"""Training a policy with PPO on a learned, given or goal-sentence reward."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import validated
from workbench.data.workspace import Workspace
from workbench.operations.base import Progress, Result, WorkspaceRequest
from workbench.rl.policy import GaussianPolicy
from workbench.rl.ppo import TrainProgress
from workbench.rl.run import RunConfig, train_run

PREVIEW_EVERY = 2  # updates between the policy snapshots a front end's preview shows


@dataclass(frozen=True, kw_only=True)
@validated
class Train(WorkspaceRequest):
    """Train a policy with PPO on a learned reward, the scene's reference reward or a goal
    sentence, evaluated against the scene's ground truth."""

    config: RunConfig = field(default_factory=RunConfig, metadata={
        "help": "the run's settings", "flatten": True, "positional": ("scene",),
        "aliases": {"ppo.total_steps": "--steps"}})
    resume: Path | None = field(default=None, metadata={
        "help": "continue this stopped or killed run folder exactly from its checkpoint, with "
                "the config it was started with (the other settings are ignored)"})

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        if self.resume is not None and not (Path(self.resume) / "config.json").is_file():
            raise ValueError(f"--resume {self.resume}: not a run folder (no config.json)")

        def on_progress(p: TrainProgress) -> bool:
            progress.emit("progress", step=p.step, total_steps=p.total_steps, fps=p.fps,
                          learned_return=p.learned_return, success_rate=p.success_rate,
                          reference_return=p.reference_return, extras=dict(p.extras))
            return not progress.should_stop()

        def on_snapshot(policy: GaussianPolicy, p: TrainProgress) -> None:
            if progress.previews and p.update % PREVIEW_EVERY == 0:
                progress.emit("snapshot", step=p.step, policy=policy.actor_snapshot())

        return train_run(ws, self.config, callbacks=(on_progress,), on_snapshot=on_snapshot,
                         resume_dir=self.resume)
