"""A training run in a Workspace: env + (learned) reward + PPO -> policy checkpoint + metrics.

This is what ``workbench train``, the Train panel's worker process and the tests call.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from workbench import config as cfg
from workbench.config import ConfigError, validated
from workbench.data.segments import SegmentCache
from workbench.data.workspace import Workspace, running_here
from workbench.envs.env import make_env
from workbench.envs.frames import RenderedFrames
from workbench.envs.goal import GoalEnv
from workbench.envs.registration import env_id
from workbench.feedback.teachers import TEACHERS
from workbench.registry import ROBOTS, SCENE
from workbench.rewards import families
from workbench.rewards.artifact import load_reward_model
from workbench.rewards.preference.dataset import queries_from_workspace
from workbench.rewards.transforms import progress_reward
from workbench.rewards.workflow import store_model
from workbench.rl.checkpoint import CHECKPOINT, run_checkpoint
from workbench.rl.curriculum import Curriculum, CurriculumConfig
from workbench.rl.distill import DistillConfig, DistilledFrameReward
from workbench.rl.monitor import RewardHackingMonitor
from workbench.rl.online_reward import OnlineFeedbackConfig, OnlinePreference
from workbench.rl.policy import GaussianPolicy
from workbench.rl.ppo import (
    Callback,
    PPOConfig,
    TrainProgress,
    evaluate_policy,
    make_vector_env,
    make_wrapped,
    train_ppo,
)
from workbench.rl.ray_rollouts import RolloutWorkerLost
from workbench.rl.reward_wrapper import LearnedRewardWrapper, SuccessRewardWrapper
from workbench.rl.sac import OneEnv, SACConfig, train_sac
from workbench.rl.takeover import (
    Interventions,
    interventions_from_episodes,
    interventions_from_logs,
)
from workbench.teleop.recorder import record_policy_episodes

REWARDS = ("latest", "model", "reference", "sparse", "grounded")
ALGORITHMS = ("ppo", "sac")


@dataclass(frozen=True)
@validated
class RunConfig:
    scene: str = field(default="Push", metadata={"help": "scene to train on",
                                                 **SCENE})
    reward: str = field(default="latest", metadata={
        "help": "what the policy is rewarded by: 'latest' (the scene's newest learned model), "
                "'model' (the one in reward_model), 'reference' (the scene's dense reward), "
                "'sparse' (1 on success, else 0) or 'grounded' (the goal sentence's grounded "
                "reward; the default with a goal)", "choices": REWARDS})
    reward_model: str = field(default="", metadata={
        "help": "a stored reward model's folder, with reward='model' (inside the workspace: "
                "relative to it)"})
    goal: str = field(default="", metadata={
        "help": "a goal sentence ('push the cube onto the blue pad'): the envs show what it "
                "names, a choice the scene offers (PushChoice's pad) is drawn per episode so "
                "the policy learns each, and the policy is evaluated on the sentence's"})
    robot: str = field(default="", metadata={
        "help": "train with another robot of the scene's kind (so101, panda, arm7 on the "
                "tabletop scenes); empty: the scene's own"})
    randomize: bool = field(default=False, metadata={
        "help": "train under the robot's own domain randomization (its gains, damping, "
                "friction, masses, sensor noise and a tick of latency, as the robot's author "
                "ranged them), for a policy that tolerates the real robot's differences; "
                "evaluation stays nominal"})
    randomize_only: tuple[str, ...] = field(default=(), metadata={
        "help": "with --randomize: only these of the robot's ranges (e.g. "
                "action_latency obs_noise), to find which difference a policy needs"})
    transform: str = field(default="progress", metadata={
        "help": "progress or delta", "choices": ("progress", "delta")})
    difficulty: float = field(default=0.0, metadata={
        "help": "scene difficulty in [0, 1]", "min": 0.0, "max": 1.0})
    eval_episodes: int = field(default=20, metadata={
        "help": "deterministic evaluation episodes", "min": 0, "max": 100_000})
    torch_threads: int = field(default=1, metadata={
        "help": "CPU threads for the small networks", "min": 1, "max": 1024})
    hacking_guard: bool = field(
        default=True,
        metadata={"help": "stop when learned return rises while true success falls, and roll "
                  "back to the best policy by true success"},
    )
    checkpoint_every: int = field(
        default=5, metadata={"help": "updates between exact checkpoints (0: none)", "min": 0})
    curriculum: bool = field(
        default=False,
        metadata={"help": "start at difficulty 0 and raise it towards `difficulty` as the "
                  "policy succeeds (competence-based; see workbench.rl.curriculum)"})
    tensorboard: bool = field(
        default=True, metadata={"help": "also write TensorBoard event files to <run>/tb"})
    online_feedback: bool = field(
        default=False,
        metadata={"help": "learn a preference reward while training (ignores `reward`): the "
                  "policy's episodes are recorded every few updates for the Rank panel, and "
                  "the reward refits on the scene's labels as they arrive"})
    online_teacher: str = field(
        default="",
        metadata={"help": "a synthetic teacher (oracle, stoc, myopic, mistake, skip, equal) "
                  "that also answers queries on the policy's segments; empty: people only"})
    online_clips: int = field(
        default=2, metadata={
            "help": "policy episodes recorded per feedback round", "min": 0, "max": 1000})
    frame_scoring: str = field(default="distilled", metadata={
        "help": "a reward over camera frames: 'distilled' renders a share of the steps and a "
                "state student fitted to the reward scores the rest (falls back to direct "
                "while the two disagree), 'direct' renders and scores every step (on a GPU)",
        "choices": ("distilled", "direct")})
    algorithm: str = field(default="ppo", metadata={
        "help": "ppo (on-policy, many envs; its settings are ppo.*, its budget --steps) or "
                "sac (off-policy, one env, more learning per step; its settings are sac.*, "
                "its budget --sac.total-steps)", "choices": ALGORITHMS})
    takeovers: bool = field(default=False, metadata={
        "help": "sac: half of every batch comes from the steps a person took over in the "
                "scene's recorded episodes (RLPD, HIL-SERL)"})
    takeover_logs: tuple[str, ...] = field(default=(), metadata={
        "help": "with takeovers: runner take-over logs (`workbench run --takeover-log`, a "
                "robot's) whose transitions join them, scored by the run's learned reward"})
    cluster: str = field(default="", metadata={
        "help": "step the training envs on a Ray cluster: 'auto' (the one running here, or a "
                "new local one), ray://HOST:PORT or HOST:PORT; empty: in this process",
        "pattern": r"|auto|(ray://)?[^\s:]+:\d{1,5}",
        "pattern_help": "empty, auto, ray://HOST:PORT or HOST:PORT"})
    rollout_actors: int = field(default=2, metadata={
        "help": "Ray actors stepping the envs (ppo.num_envs split between them)", "min": 1})
    cluster_retries: int = field(default=3, metadata={
        "help": "times a run resumes from its checkpoint after losing a rollout worker",
        "min": 0})
    distill: DistillConfig = field(default_factory=DistillConfig)
    online: OnlineFeedbackConfig = field(default_factory=OnlineFeedbackConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    sac: SACConfig = field(default_factory=lambda: SACConfig(her=False))

    def check(self) -> None:
        if self.algorithm == "sac":
            for name, on in (("cluster", bool(self.cluster)),
                             ("online_feedback", self.online_feedback)):
                if on:
                    raise ConfigError(f"{name}: not with algorithm=sac (a SAC run steps one "
                                      "env here on the run's own reward); train with PPO")
            if self.sac.her and (self.reward != "sparse" or self.takeovers or self.curriculum
                                 or self.goal):
                raise ConfigError("sac.her: hindsight relabelling recomputes the scene's "
                                  "sparse goal reward on its goal-conditioned view: give "
                                  "--reward sparse, without takeovers, curriculum or a goal "
                                  "sentence")
            if self.ppo.total_steps != PPOConfig().total_steps:
                raise ConfigError("ppo.total_steps (--steps) is PPO's budget; give a SAC "
                                  "run's as --sac.total-steps")
        elif self.takeovers:
            raise ConfigError("takeovers: SAC learns from take-over steps; use "
                              "--algorithm sac")
        if self.randomize_only and not self.randomize:
            raise ConfigError("randomize_only: names some of the ranges --randomize draws; "
                              "give --randomize too")
        if self.takeover_logs and not self.takeovers:
            raise ConfigError("takeover_logs: they are read with --takeovers")
        if self.cluster and (self.curriculum or self.online_feedback):
            raise ConfigError("cluster: curriculum and online_feedback reach into each env "
                              "and run in this process only; train without --cluster")
        if self.cluster and self.rollout_actors > self.ppo.num_envs:
            raise ConfigError(f"rollout_actors must be at most ppo.num_envs "
                              f"({self.ppo.num_envs}), got {self.rollout_actors}")
        if self.reward == "model" and not self.reward_model:
            raise ConfigError("reward_model: give the reward model's folder (reward='model')")
        if self.reward_model and self.reward != "model":
            raise ConfigError(f"reward_model is read only with reward='model', not "
                              f"reward={self.reward!r}")

    @classmethod
    def on_model(cls, path: str | Path, **fields: Any) -> RunConfig:
        """A run rewarded by the stored model at ``path``."""
        return cls(reward="model", reward_model=str(path), **fields)

    @classmethod
    def saved(cls, data: dict[str, Any]) -> RunConfig:
        """A run folder's ``config.json``; older runs named their model in ``reward``."""
        if data.get("reward") not in (*REWARDS, None) and not data.get("reward_model"):
            data = {**data, "reward": "model", "reward_model": data["reward"]}
        return cfg.from_dict(cls, data)


def resolve_reward(workspace: Workspace, config: RunConfig) -> str | None:
    """The model folder a run's reward names (None for the rewards that need none)."""
    scene, reward = config.scene, config.reward
    if reward in ("reference", "sparse", "grounded"):
        return None
    if reward == "model":
        return workspace.absolute(config.reward_model)  # a stored relative path is its own
    if reward == "latest":
        trainable = trainable_families()
        models = [m for m in workspace.models(scene=scene) if m["family"] in trainable]
        if not models:
            raise ValueError(
                f"no reward model for {scene} in {workspace.root}; fit one first "
                f"(`workbench train-reward {scene}`) or train with reward=reference"
            )
        return models[-1]["path"]
    raise ConfigError(f"reward must be one of {', '.join(REWARDS)}, got {reward!r}")


def trainable_families() -> set[str]:
    """Artifact families a policy trains on: over states, or over camera frames rendered by
    the training envs (a goal-conditioned model needs the goal as an input of the policy)."""
    return families.artifacts_consuming("states", "frames")


def robot_ranges(robot: Any, only: tuple[str, ...]) -> dict[str, Any]:
    """The robot's domain-randomization ranges, or the named ones of them."""
    ranges = dict(robot.randomization)
    unknown = [name for name in only if name not in ranges]
    if unknown:
        raise ConfigError(f"randomize_only: {', '.join(unknown)} is not one of the robot's "
                          f"ranges ({', '.join(ranges)})")
    return {name: ranges[name] for name in only} if only else ranges


def train_run(
    workspace: Workspace,
    config: RunConfig = RunConfig(),
    callbacks: tuple[Callback, ...] = (),
    on_snapshot: Callable[[GaussianPolicy, TrainProgress], None] | None = None,
    resume_dir: str | Path | None = None,
    on_run_dir: Callable[[Path], None] | None = None,
    after_update: Callback | None = None,
) -> dict[str, Any]:
    """Train, evaluate against ground truth, save the policy, record the run.

    The run folder keeps an exact checkpoint (``checkpoint.safetensors``); ``resume_dir``
    continues a killed or stopped run from it, with the config it was started with.
    ``on_run_dir`` hears the run's folder as soon as it is made (a sweep's trial keeps it, to
    resume there if its node is lost). ``after_update`` hears each update after the run has
    stored it, its log line and (PPO) its checkpoint: what it sends elsewhere can be resumed.
    """
    if resume_dir is not None:
        resume_dir = Path(resume_dir)
        config = RunConfig.saved(json.loads((resume_dir / "config.json").read_text()))
    torch.set_num_threads(config.torch_threads)
    if config.online_teacher and config.online_teacher not in TEACHERS:
        raise ValueError(f"unknown teacher {config.online_teacher!r}; choose one of "
                         f"{', '.join(TEACHERS)} or leave it empty")
    if config.goal and config.reward == "latest":  # a sentence alone: its grounded reward
        config = replace(config, reward="grounded")
    if config.reward == "grounded" and not config.goal:
        raise ValueError("reward=grounded needs a goal sentence (--goal)")
    online = config.online_feedback
    sac = config.algorithm == "sac"
    if sac and resume_dir is not None:
        raise ValueError(f"{resume_dir} is a SAC run, which keeps no exact checkpoint to "
                         "continue from; start a new run")
    gamma, budget = ((config.sac.gamma, config.sac.total_steps) if sac
                     else (config.ppo.gamma, config.ppo.total_steps))
    reward_path = None if online else resolve_reward(workspace, config)
    env_kwargs: dict[str, Any] = {"difficulty": config.difficulty, "robot": config.robot or None}
    eval_env = make_env(config.scene, goal=config.goal or None, **env_kwargs)
    if config.goal:  # the training envs: what the sentence names, each choice drawn
        env_kwargs.update(goal=config.goal, draw_choices=True)
    if config.randomize:
        if not eval_env.robot.randomization:
            ranged = [n for n in ROBOTS.names() if ROBOTS.load(n).randomization]
            raise ConfigError(f"randomize: the {eval_env.robot_name} robot names no ranges to "
                              f"randomize; train without it or with --robot {' or '.join(ranged)}")
        env_kwargs.update(randomization=robot_ranges(eval_env.robot, config.randomize_only))
    model = None
    if reward_path is not None:
        model = load_reward_model(reward_path, device=config.ppo.device)
        if model.family in families.artifacts_consuming("frames+goal"):
            if not config.goal:
                raise ValueError(f"a {model.family} reward scores frames towards a goal "
                                 "sentence: give one (--goal \"push the cube onto the blue "
                                 "pad\")")
            model = model.for_goal(config.goal)  # then a frame reward like any other
        elif model.family not in trainable_families():
            raise ValueError(f"a {model.family} reward cannot drive training (train on a "
                             "progress, staged, perceptual, preference, vision-language or "
                             "code model)")
        if model.scene != config.scene:
            raise ValueError(f"reward model {reward_path} was fitted on {model.scene}; train "
                             f"on {model.scene} or fit one for {config.scene}")
    demos = run_takeovers(workspace, config, eval_env, model) if config.takeovers else None
    if demos is not None and not len(demos):
        raise ConfigError(f"takeovers: no step of {config.scene}'s recorded episodes was taken "
                          "over by a person; record some (`workbench run BUNDLE --takeover "
                          "gamepad --record WORKSPACE`) or train without --takeovers")
    # A reward over camera frames: the sub-envs render the model's cameras (after every step
    # when direct, a share of them when distilled) and the model scores the batch.
    wrap = None
    if model is not None and model.cameras:
        cameras, size = model.cameras, model.frame_config.image_size
        wrap = lambda env: RenderedFrames(env, cameras, size)  # noqa: E731
    refits_probe = False  # whether the distilled reward refits its probe (kept at the end)

    def rewarded(envs: gym.vector.VectorEnv) -> tuple[gym.vector.VectorEnv, tuple[Callback, ...]]:
        """The training envs with the run's reward, and what refits it between updates."""
        nonlocal refits_probe
        if config.reward == "sparse":
            return SuccessRewardWrapper(envs), ()
        if model is not None and model.cameras and config.frame_scoring == "distilled":
            distilled = DistilledFrameReward(envs, model, config.transform, gamma,
                                             config.distill)
            refits_probe = distilled.probe is not None
            return distilled, (distilled.callback(),)
        if model is not None:
            return LearnedRewardWrapper(envs, model, config.transform, gamma,
                                        features=eval_env.features), ()
        return envs, ()

    def make_envs(avoid: frozenset[str] = frozenset()) -> gym.vector.VectorEnv:
        if config.cluster:  # the envs step in Ray actors; the reward is scored here
            from workbench.rl.ray_rollouts import RayVectorEnv

            make = functools.partial(make_wrapped, env_id(config.scene), env_kwargs, wrap)
            return RayVectorEnv(make, config.ppo.num_envs, config.rollout_actors, config.cluster,
                                avoid)
        return make_vector_env(env_id(config.scene), 1 if sac else config.ppo.num_envs,
                               env_kwargs, wrap=wrap)

    her = sac and config.sac.her  # the goal-conditioned view, its own sparse reward
    envs: Any = GoalEnv(make_env(config.scene, **env_kwargs)) if her else make_envs()
    schedule = (Curriculum(envs, CurriculumConfig(final=config.difficulty))
                if config.curriculum and config.difficulty > 0 else None)
    learners: tuple[Callback, ...] = ()  # what refits the reward between updates
    if online:
        envs, learners, learner = _online_feedback(workspace, config, envs, eval_env)
    elif not her:
        envs, learners = rewarded(envs)
    if resume_dir is None:
        run_dir = workspace.new_artifact_dir("runs", f"{config.algorithm}-{config.scene}")
        # The saved config names the model itself, not "latest": a resumed run goes on with
        # the reward it started with, whatever was fitted since.
        pinned = (replace(config, reward="model", reward_model=workspace.relative(reward_path))
                  if reward_path else config)
        (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(pinned), indent=1))
    else:
        run_dir = resume_dir
    if on_run_dir is not None:
        on_run_dir(run_dir)
    earlier = [r for r in workspace.runs() if Path(r["path"]) == run_dir.resolve()]
    alive = running_here()  # lets recovery tell a killed run from a live one
    if earlier:  # a resumed run keeps its row
        run_id = earlier[-1]["id"]
        workspace.update_run(run_id, "running", alive)
    else:
        run_id = workspace.add_run(f"{config.algorithm}-{config.scene}", config.scene, run_dir,
                                   "running", alive)
    # PPO plans whole updates: a budget that is not a multiple of its batch ends a little short.
    last = {"step": 0, "planned": budget}
    log = (run_dir / "metrics.jsonl").open("a")
    board = tensorboard_writer(run_dir / "tb") if config.tensorboard else None

    def log_progress(progress: TrainProgress) -> None:
        last["step"], last["planned"] = progress.step, progress.total_steps
        record = {
            "step": progress.step,
            "charts/learned_return": progress.learned_return,
            "charts/success_rate": progress.success_rate,
            "charts/reference_return": progress.reference_return,
            "charts/fps": progress.fps,
            **progress.losses,
            **progress.extras,
        }
        log.write(json.dumps(record) + "\n")
        log.flush()
        if board is not None:
            for key, value in record.items():
                if key != "step":
                    board.add_scalar(key, value, progress.step)
        if on_snapshot is not None and progress.policy is not None:
            on_snapshot(progress.policy, progress)

    monitor = None
    if config.hacking_guard and reward_path:  # callbacks come every update (PPO), log (SAC)
        monitor = _guard_on_evaluations(eval_env, config.sac.log_every if sac else
                                        config.ppo.num_envs * config.ppo.rollout_steps)

    def guarded(learners: tuple[Callback, ...]) -> tuple[Callback, ...]:
        """The curriculum, the feedback rounds (or the student's refit), reward code's terms
        and the monitor: they annotate each update before it is logged."""
        if model is not None and hasattr(model, "drain_terms"):  # reward code names its terms
            learners = (*learners, _log_terms(model))
        return tuple(g for g in (schedule, *learners, monitor) if g is not None)

    guards = guarded(learners)
    status = "failed"
    checkpoint = run_checkpoint(run_dir) if config.checkpoint_every and not sac else None
    resume, lost, lost_nodes = resume_dir is not None, 0, frozenset[str]()

    def log_event(text: str) -> None:
        placement = getattr(envs.unwrapped, "placement", None)
        record = {"step": last["step"], "event": text}
        if placement is not None:
            record["rollout_workers"] = placement()
        log.write(json.dumps(record) + "\n")
        log.flush()

    if config.cluster:
        log_event(f"rollout workers on the Ray cluster at {config.cluster}")
    extra: dict[str, Any] = {}
    try:
        if sac:  # one env, off-policy; the person's take-over steps beside its replay
            if demos is not None:
                extra["takeover_steps"] = len(demos)
                log_event(f"{len(demos)} take-over steps from the workspace")
            policy = learn_sac(envs, config.sac, (*guards, log_progress, *callbacks,
                                                  *([after_update] if after_update else [])),
                               demos)
        else:  # PPO; a lost rollout worker resumes from the last checkpoint
            while True:
                try:
                    policy = train_ppo(
                        envs, config.ppo, callbacks=(*guards, log_progress, *callbacks),
                        checkpoint=checkpoint, checkpoint_every=max(config.checkpoint_every, 1),
                        resume=resume, after_update=after_update,
                    )
                    break
                except RolloutWorkerLost as exc:  # a node died: fresh workers, the last checkpoint
                    lost += 1
                    if lost > config.cluster_retries:
                        raise
                    envs.close()
                    lost_nodes |= exc.nodes  # fresh workers go elsewhere
                    envs, learners = rewarded(make_envs(lost_nodes))
                    guards = guarded(learners)  # a distilled reward's refit follows its new envs
                    resume = checkpoint is not None and checkpoint.exists()
                    log_event(f"{exc}; resuming from "
                              f"{'the last checkpoint' if resume else 'the start'}")
        status = "finished" if last["step"] >= last["planned"] else "stopped"
    finally:
        log.close()
        if board is not None:
            board.close()
        envs.close()
        if status == "failed":
            workspace.update_run(run_id, "failed", {})
    guard: dict[str, Any] = {}
    if monitor is not None and monitor.alarm is not None and monitor.roll_back(policy):
        guard = {"hacking_alarm": str(monitor.alarm), "rolled_back_to_step": monitor.best_step}
        status = "finished"  # stopped on purpose: nothing to continue
    if online and learner.model is not None:  # the reward learned on the way is kept
        reward_path = store_model(workspace, learner.model, config.scene,
                                  {"online_labels": len(learner.queries)})["path"]
    evaluation: dict[str, Any] = evaluate_policy(policy, eval_env, config.eval_episodes)
    if config.goal and eval_env.task.goal_choices:
        evaluation["goal_success"] = each_choice(policy, eval_env, config.eval_episodes)
    contract = eval_env.contract()
    policy.save(run_dir / "policy", {"contract": contract, "reward": reward_path})
    metrics = {**evaluation, "reward": reward_path or config.reward, **guard, **extra}
    if refits_probe and model is not None:  # the reward as the run last read it (its probe)
        metrics["reward_as_read"] = workspace.relative(model.save(run_dir / "reward"))
    if lost:
        metrics["rollout_workers_lost"] = lost
    if schedule is not None:
        metrics["final_difficulty"] = schedule.difficulty
    workspace.update_run(run_id, status, metrics)
    eval_env.close()
    return {"run_id": run_id, "path": str(run_dir), **metrics}


def learn_sac(envs: gym.vector.VectorEnv | GoalEnv, config: SACConfig,
              callbacks: tuple[Callback, ...], demos: Interventions | None = None
              ) -> GaussianPolicy:
    """SAC on a run's rewarded one-env vector env, or with hindsight relabelling on a
    scene's goal-conditioned view. The callbacks (the run's log, the monitor, a front end's
    preview) see the actor as the GaussianPolicy over flat states that the run saves and
    exports."""
    env: gym.Env = envs if isinstance(envs, GoalEnv) else OneEnv(envs)
    inputs = (envs.flat_inputs, envs.flat_dim) if isinstance(envs, GoalEnv) else (None, 0)

    def as_policy(progress: TrainProgress) -> None:
        progress.policy = progress.policy.as_policy(*inputs)

    agent = train_sac(env, config, callbacks=(as_policy, *callbacks), demos=demos)
    return agent.as_policy(*inputs)


GUARD_EPISODES = 10  # evaluation episodes per check of the reward-hacking guard
GUARD_SEED = 20_000  # its episodes' seeds: apart from the final evaluation's (10,000 on)


def _guard_on_evaluations(eval_env, steps_per_callback: int) -> RewardHackingMonitor:
    """The guard watching the policy's mean action on fixed episodes, checked every so many
    training callbacks that those episodes cost at most a tenth of the training steps."""
    guard_steps = GUARD_EPISODES * eval_env.task.episode_steps  # at most, per check
    every = max(1, -(-guard_steps * 10 // steps_per_callback))
    return RewardHackingMonitor(
        evaluate=lambda policy: evaluate_policy(policy, eval_env, GUARD_EPISODES,
                                                GUARD_SEED)["success_rate"],
        eval_every=every)


def run_takeovers(workspace: Workspace, config: RunConfig, env, model) -> Interventions:
    """The steps a person took over in the scene's recorded episodes (with the run's robot),
    rewarded as the run rewards its own steps."""
    if config.goal or (model is not None and model.cameras):
        raise ConfigError("takeovers: the take-over steps are scored on their recorded states; "
                          "not with a goal sentence or a reward over camera frames")
    def learned(before: np.ndarray, after: np.ndarray) -> np.ndarray:
        return progress_reward(model.score(after), model.score(before), config.transform,
                               config.sac.gamma)

    if config.reward == "sparse":
        def reward(before, after, episode):
            return episode["success"].astype(np.float32)
    elif model is None:  # the scene's reference reward, as it was recorded
        def reward(before, after, episode):
            return episode["reward"].astype(np.float32)
    else:
        model.check_features(env.features)

        def reward(before, after, episode):
            return learned(before, after)
    robot = env.robot_name
    episodes = (workspace.load_episode(row["id"])
                for row in workspace.episodes(scene=config.scene)
                if row["meta"].get("robot", robot) == robot)
    found = interventions_from_episodes(episodes, reward, env.task.episode_steps)
    if config.takeover_logs:
        if model is None:
            raise ConfigError("takeover_logs: a robot's log has no simulator state to score "
                              f"the {config.reward} reward on; train on a learned reward")
        try:
            interventions_from_logs(config.takeover_logs, learned,
                                    len(env.observation_space.low), into=found)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"takeover_logs: {exc}") from None
    return found


def each_choice(policy: GaussianPolicy, env, episodes: int) -> dict[str, float]:
    """True success with each choice the scene offers named instead (``pad=blue``): one
    goal-conditioned policy should follow every sentence, not only the one it was run for."""
    task = env.task
    named = dict(task.requested_colours)
    rates = {}
    try:
        for role in task.goal_choices:
            for colour in task.goal_colours[role]:
                task.request_colours({**named, role: colour})
                rates[f"{role}={colour}"] = evaluate_policy(policy, env, episodes)["success_rate"]
    finally:
        task.request_colours(named)
    return rates


def _online_feedback(workspace: Workspace, config: RunConfig, envs, eval_env):
    """The wrapper, callbacks and learner of a run whose reward is learned while it trains.

    Each feedback round first records ``online_clips`` episodes of the current policy into the
    workspace (source "policy"), so the Rank panel offers the policy's newest behaviour; the
    learner then refits on every label of the scene's episodes, plus its synthetic teacher's.
    """
    teacher = TEACHERS[config.online_teacher] if config.online_teacher else None
    scene_ids = {row["id"] for row in workspace.episodes(scene=config.scene)}
    cache = SegmentCache(workspace)  # each episode is read once over the whole run

    def workspace_labels():
        scene_ids.update(row["id"] for row in workspace.episodes(scene=config.scene))
        return queries_from_workspace(workspace, scene_ids=scene_ids, cache=cache)

    learner = OnlinePreference(config.scene, eval_env.features, config.online, teacher,
                               workspace_labels)
    envs = LearnedRewardWrapper(envs, None, "progress", config.ppo.gamma,
                                features=eval_env.features, on_step=learner.observe)

    def record_clips(progress: TrainProgress, round_index: int) -> None:
        if config.online_clips:
            policy = progress.policy
            record_policy_episodes(eval_env, workspace, lambda _env, obs: policy.act(obs),
                                   config.online_clips, "policy",
                                   seed=50_000 + config.online_clips * round_index)

    return envs, (learner.callback(envs, before_round=record_clips),), learner


def tensorboard_writer(folder: Path):
    """A TensorBoard SummaryWriter, or None (with a warning) when tensorboard is missing: the
    JSON-lines log beside it has the same numbers."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        warnings.warn("tensorboard is not installed (pip install tensorboard); the run is "
                      "logged to metrics.jsonl only", stacklevel=2)
        return None
    return SummaryWriter(str(folder))


def _log_terms(model: Any) -> Callback:
    """Each named term of the reward, averaged over the update's steps, into its log."""

    def log(progress: TrainProgress) -> None:
        progress.extras.update({f"reward/{name}": value
                                for name, value in model.drain_terms().items()})

    return log


def resumable_runs(workspace: Workspace, scene: str | None = None) -> list[dict[str, Any]]:
    """Runs that ended before their budget (stopped, failed, or killed while running) and kept
    an exact checkpoint to continue from."""
    return [r for r in workspace.runs(scene) if r["status"] in ("stopped", "failed", "running")
            and (Path(r["path"]) / CHECKPOINT).exists()]


def latest_run(workspace: Workspace, scene: str | None = None) -> Path:
    """The newest run with a saved policy (finished, or stopped early by the user)."""
    runs = [r for r in workspace.runs(scene) if r["status"] in ("finished", "stopped")]
    if not runs:
        raise ValueError(f"no finished training run in {workspace.root}; train one first")
    return Path(runs[-1]["path"])
