"""Job functions run in worker processes (see :mod:`workbench.session.jobs`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench import config as cfg

Emit = Callable[..., None]
ShouldStop = Callable[[], bool]


def fit_reward(
    emit: Emit,
    should_stop: ShouldStop,
    workspace: str,
    scene: str,
    overrides: tuple = (),
    family: str = "progress",
) -> dict[str, Any]:
    from workbench.data.workspace import Workspace
    from workbench.rewards import workflow
    from workbench.rewards.preference.config import PreferenceConfig
    from workbench.rewards.progress.config import ProgressConfig

    if family == "preference":
        config = cfg.override(PreferenceConfig(), list(overrides))
        fit = workflow.fit_preference_in_workspace
    elif family == "progress":
        config = cfg.override(ProgressConfig(), list(overrides))
        fit = workflow.fit_progress_in_workspace
    else:
        raise ValueError(f"unknown reward family {family!r}: progress or preference")

    def on_epoch(epoch: int, loss: float) -> bool:
        emit("progress", epoch=epoch + 1, epochs=config.epochs, loss=loss)
        return not should_stop()

    with Workspace.open(workspace) as ws:
        _, report = fit(ws, scene, config, on_epoch=on_epoch)
    return {"family": family, **report}


def train_policy(
    emit: Emit,
    should_stop: ShouldStop,
    workspace: str,
    scene: str,
    overrides: tuple = (),
    snapshot_every: int = 2,
) -> dict[str, Any]:
    from workbench.data.workspace import Workspace
    from workbench.rl.run import RunConfig, train_run

    config = cfg.override(RunConfig(scene=scene), list(overrides))

    def on_progress(progress) -> bool:
        emit(
            "progress",
            step=progress.step,
            total_steps=progress.total_steps,
            fps=progress.fps,
            learned_return=progress.learned_return,
            success_rate=progress.success_rate,
            reference_return=progress.reference_return,
        )
        return not should_stop()

    def on_snapshot(policy, progress) -> None:
        if progress.update % snapshot_every == 0:
            state = {k: v.detach().cpu().numpy() for k, v in policy.state_dict().items()}
            emit("snapshot", step=progress.step, hidden=list(policy.hidden), state=state)

    with Workspace.open(workspace) as ws:
        return train_run(ws, config, callbacks=(on_progress,), on_snapshot=on_snapshot)


def export_latest(emit: Emit, should_stop: ShouldStop, workspace: str, scene: str) -> dict:
    from workbench.data.workspace import Workspace
    from workbench.export.workflow import export_run
    from workbench.rl.run import latest_run

    with Workspace.open(workspace) as ws:
        run = latest_run(ws, scene)
    emit("progress", message=f"exporting {run.name}")
    bundle = export_run(run, run / "bundle")
    return {"bundle": str(run / "bundle"), "parity": bundle["parity"]}


def run_bundle(
    emit: Emit, should_stop: ShouldStop, workspace: str, scene: str, bundle: str, episodes: int
) -> dict:
    # The runner imports no torch: the same path a robot computer takes.
    from workbench.export.runner import run_in_sim

    return {"bundle": bundle, **run_in_sim(bundle, episodes=episodes)}
