"""A training run in a Workspace: env + (learned) reward + PPO -> policy checkpoint + metrics.

This is what ``workbench train``, the Train panel's worker process and the tests call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from workbench import config as cfg
from workbench.data.workspace import Workspace
from workbench.envs.env import make_env
from workbench.envs.registration import env_id
from workbench.rewards.artifact import load_reward_model
from workbench.rl.monitor import RewardHackingMonitor
from workbench.rl.policy import GaussianPolicy
from workbench.rl.ppo import (
    Callback,
    PPOConfig,
    TrainProgress,
    evaluate_policy,
    make_vector_env,
    train_ppo,
)
from workbench.rl.reward_wrapper import LearnedRewardWrapper


@dataclass(frozen=True)
class RunConfig:
    scene: str = field(default="Push", metadata={"help": "scene to train on"})
    reward: str = field(
        default="latest",
        metadata={"help": "'latest' learned model of the scene, a model path, or 'reference'"},
    )
    transform: str = field(default="progress", metadata={"help": "progress or delta"})
    difficulty: float = field(default=0.0, metadata={"help": "scene difficulty in [0, 1]"})
    eval_episodes: int = field(default=20, metadata={"help": "deterministic evaluation episodes"})
    torch_threads: int = field(default=1, metadata={"help": "CPU threads for the small networks"})
    hacking_guard: bool = field(
        default=True,
        metadata={"help": "stop when learned return rises while true success falls, and roll "
                  "back to the best policy by true success"},
    )
    checkpoint_every: int = field(
        default=5, metadata={"help": "updates between exact checkpoints (0: none)"})
    ppo: PPOConfig = field(default_factory=PPOConfig)


def resolve_reward(workspace: Workspace, scene: str, reward: str) -> str | None:
    if reward == "reference":
        return None
    if reward == "latest":
        models = workspace.models(scene=scene)
        if not models:
            raise ValueError(
                f"no reward model for {scene} in {workspace.root}; fit one first "
                f"(`workbench train-reward {scene}`) or train with reward=reference"
            )
        return models[-1]["path"]
    return reward


def train_run(
    workspace: Workspace,
    config: RunConfig = RunConfig(),
    callbacks: tuple[Callback, ...] = (),
    on_snapshot: Callable[[GaussianPolicy, TrainProgress], None] | None = None,
    resume_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train, evaluate against ground truth, save the policy, record the run.

    The run folder keeps an exact checkpoint (``checkpoint.pt``); ``resume_dir`` continues a
    killed or stopped run from it, with the config it was started with.
    """
    if resume_dir is not None:
        resume_dir = Path(resume_dir)
        config = cfg.from_dict(RunConfig, json.loads((resume_dir / "config.json").read_text()))
    torch.set_num_threads(config.torch_threads)
    reward_path = resolve_reward(workspace, config.scene, config.reward)
    env_kwargs = {"difficulty": config.difficulty}
    eval_env = make_env(config.scene, **env_kwargs)
    envs = make_vector_env(env_id(config.scene), config.ppo.num_envs, env_kwargs)
    if reward_path is not None:
        model = load_reward_model(reward_path, device=config.ppo.device)
        envs = LearnedRewardWrapper(
            envs, model, config.transform, config.ppo.gamma, features=eval_env.features
        )
    if resume_dir is None:
        run_dir = workspace.new_artifact_dir("runs", f"ppo-{config.scene}")
        (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(config), indent=1))
    else:
        run_dir = resume_dir
    run_id = workspace.add_run(f"ppo-{config.scene}", config.scene, run_dir, "running", {})
    log = (run_dir / "metrics.jsonl").open("a")

    def log_progress(progress: TrainProgress) -> None:
        record = {
            "step": progress.step,
            "charts/learned_return": progress.learned_return,
            "charts/success_rate": progress.success_rate,
            "charts/reference_return": progress.reference_return,
            "charts/fps": progress.fps,
            **progress.losses,
        }
        log.write(json.dumps(record) + "\n")
        log.flush()
        if on_snapshot is not None and progress.policy is not None:
            on_snapshot(progress.policy, progress)

    monitor = RewardHackingMonitor() if config.hacking_guard and reward_path else None
    guards = (monitor,) if monitor is not None else ()
    status = "failed"
    try:
        policy = train_ppo(
            envs, config.ppo, callbacks=(log_progress, *guards, *callbacks),
            checkpoint=run_dir / "checkpoint.pt" if config.checkpoint_every else None,
            checkpoint_every=max(config.checkpoint_every, 1), resume=resume_dir is not None,
        )
        status = "finished"
    finally:
        log.close()
        envs.close()
        if status == "failed":
            workspace.update_run(run_id, "failed", {})
    guard: dict[str, Any] = {}
    if monitor is not None and monitor.alarm is not None and monitor.roll_back(policy):
        guard = {"hacking_alarm": str(monitor.alarm), "rolled_back_to_step": monitor.best_step}
    evaluation = evaluate_policy(policy, eval_env, config.eval_episodes)
    contract = eval_env.contract()
    policy.save(run_dir / "policy", {"contract": contract, "reward": reward_path})
    metrics = {**evaluation, "reward": reward_path or "reference", **guard}
    workspace.update_run(run_id, status, metrics)
    eval_env.close()
    return {"run_id": run_id, "path": str(run_dir), **metrics}


def latest_run(workspace: Workspace, scene: str | None = None) -> Path:
    runs = [r for r in workspace.runs(scene) if r["status"] == "finished"]
    if not runs:
        raise ValueError(f"no finished training run in {workspace.root}; train one first")
    return Path(runs[-1]["path"])
