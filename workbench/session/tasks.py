"""Job functions run in worker processes (see :mod:`workbench.session.jobs`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.data.workspace import Workspace
from workbench.envs.env import make_env
from workbench.envs.replay import env_for
from workbench.export.runner import run_in_sim
from workbench.export.workflow import export_run
from workbench.progress import Cancelled, reporting
from workbench.rewards import families
from workbench.rewards.language.grounding import grounded_rewards
from workbench.rl.policy import GaussianPolicy
from workbench.rl.ppo import TrainProgress
from workbench.rl.run import RunConfig, latest_run, train_run
from workbench.sentences import ground
from workbench.teleop.recorder import demo_set_size, record_demo_set

Emit = Callable[..., None]
ShouldStop = Callable[[], bool]


def fit_reward(
    emit: Emit,
    should_stop: ShouldStop,
    workspace: str,
    scene: str,
    family: str = "progress",
    config: Any = None,
) -> dict[str, Any]:

    entry = families.get(family)
    settings: Any = entry.default_config(scene) if config is None else config
    if not isinstance(settings, entry.config_class):
        raise TypeError(f"a {family} reward is fitted with a {entry.config_class.__name__}, "
                        f"got a {type(settings).__name__}")
    fit = entry.fit_function()

    def on_epoch(epoch: int, loss: float) -> bool:  # families that train count their passes
        emit("progress", epoch=epoch + 1, epochs=settings.epochs, loss=loss)
        return not should_stop()

    def on_stage(stage: str, done: int, total: int) -> bool:  # rendering, pretraining
        emit("progress", stage=stage, done=done, total=total)
        return not should_stop()

    with Workspace.open(workspace) as ws, reporting(on_stage):
        try:
            _, report = fit(ws, scene, settings, on_epoch=on_epoch)
        except Cancelled as exc:
            return {"family": family, "cancelled": str(exc)}
    return {"family": family, **report}


def train_policy(
    emit: Emit,
    should_stop: ShouldStop,
    workspace: str,
    scene: str,
    config: Any = None,
    snapshot_every: int = 2,
    resume_dir: str | None = None,
) -> dict[str, Any]:
    """Train (or, with ``resume_dir``, continue a stopped run from its checkpoint)."""
    config = RunConfig(scene=scene) if config is None else config

    def on_progress(progress: TrainProgress) -> bool:
        emit(
            "progress",
            step=progress.step,
            total_steps=progress.total_steps,
            fps=progress.fps,
            learned_return=progress.learned_return,
            success_rate=progress.success_rate,
            reference_return=progress.reference_return,
            extras=dict(progress.extras),
        )
        return not should_stop()

    def on_snapshot(policy: GaussianPolicy, progress: TrainProgress) -> None:
        if progress.update % snapshot_every == 0:
            emit("snapshot", step=progress.step, policy=policy.actor_snapshot())

    with Workspace.open(workspace) as ws:
        return train_run(ws, config, callbacks=(on_progress,), on_snapshot=on_snapshot,
                         resume_dir=resume_dir)


def export_latest(emit: Emit, should_stop: ShouldStop, workspace: str, scene: str
                  ) -> dict[str, Any]:

    with Workspace.open(workspace) as ws:
        run = latest_run(ws, scene)
    emit("progress", message=f"exporting {run.name}")
    bundle = export_run(run, run / "bundle")
    return {"bundle": str(run / "bundle"), "parity": bundle["parity"]}


def run_bundle(
    emit: Emit, should_stop: ShouldStop, workspace: str, scene: str, bundle: str, episodes: int
) -> dict[str, Any]:

    return {"bundle": bundle, **run_in_sim(bundle, episodes=episodes)}


def goal_rewards(
    emit: Emit, should_stop: ShouldStop, workspace: str, scene: str, goal: str,
    max_episodes: int = 12,
) -> dict[str, Any]:
    """The reward a goal sentence gives each recorded episode (before any training): the
    sentence grounded in the scene's vocabulary gates the scene's reward terms (see
    :mod:`workbench.rewards.language.grounding`)."""

    with Workspace.open(workspace) as ws:
        rows = ws.episodes(scene=scene)[-max_episodes:]
        if not rows:
            raise ValueError(f"no recorded episodes of {scene} to score; record some first")
        env = env_for(ws.load_episode(rows[0]["id"]))
        grounding = ground(goal, env.task)
        curves = []
        for i, row in enumerate(rows):
            if should_stop():
                break
            episode = ws.load_episode(row["id"])
            env.task.difficulty = episode.meta["meta"].get("difficulty", 0.0)
            rewards = grounded_rewards(env, episode, grounding)
            curves.append({"episode": row["id"], "success": bool(row["success"]),
                           "goal": row["goal"], "reward": rewards.tolist()})
            emit("progress", done=i + 1, total=len(rows))
        env.close()
    binding = ", ".join(f"{role} = {colour or 'any colour'}"
                        for role, colour in grounding.colours.items())
    return {"goal": goal, "grounding": binding or "no colours named", "curves": curves}


def record_demos(
    emit: Emit, should_stop: ShouldStop, workspace: str, scene: str, episodes: int,
    with_failures: bool = True,
) -> dict[str, Any]:
    """Scripted demos and failed takes (see ``record_demo_set``), with progress."""

    env = make_env(scene)
    total = demo_set_size(env, episodes, with_failures)
    env.close()
    with Workspace.open(workspace) as ws:
        ids = record_demo_set(ws, scene, episodes, with_failures,
                              progress=lambda n: emit("progress", done=n, total=total),
                              should_stop=should_stop)
    return {"episodes": ids}
