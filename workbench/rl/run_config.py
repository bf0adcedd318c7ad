"""What a training run is asked to do: one frozen config that the CLI, the app's Train panel,
a sweep's grid and a run folder's ``config.json`` all spell the same way (its fields' help is
the CLI's and the panel's)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from workbench import config as cfg
from workbench.config import ConfigError, validated
from workbench.feedback.teachers import TEACHERS
from workbench.registry import SCENE, SCENES, robot_choices, scene_robot
from workbench.rewards.preference.config import with_scene_options
from workbench.rl.distill import DistillConfig
from workbench.rl.online_reward import OnlineFeedbackConfig
from workbench.rl.ppo import PPOConfig
from workbench.rl.sac import SACConfig

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
                "tabletop scenes); empty: the scene's own", "choices": robot_choices})
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
        metadata={"help": "stop when learned return holds or rises while true success falls "
                  "(or, while success stays rare, the reference return) and the fall holds on "
                  "fresh episodes, and roll back to the best policy by that measure"},
    )
    checkpoint_every: int = field(
        default=5, metadata={"help": "updates between exact checkpoints (0: none; a sweep's "
                             "trials write one every update, ASHA stopping them at any)",
                             "min": 0})
    curriculum: bool = field(
        default=False,
        metadata={"help": "start at difficulty 0 and raise it towards `difficulty` as the "
                  "policy succeeds (competence-based; see workbench.rl.curriculum)"})
    tensorboard: bool = field(
        default=True, metadata={"help": "also write TensorBoard event files to <run>/tb"})
    film_every: int = field(default=0, metadata={
        "help": "film one evaluation episode of the policy every this many updates (SAC: log "
                "intervals), and the final policy's, into <run>/films as MP4 (0: none)",
        "min": 0})
    online_feedback: bool = field(
        default=False,
        metadata={"help": "learn a preference reward while training (ignores `reward`): the "
                  "policy's episodes are recorded every few updates for the Rank panel, and "
                  "the reward refits on the scene's labels as they arrive"})
    online_teacher: str = field(
        default="",
        metadata={"help": "a synthetic teacher (B-Pref's) that also answers queries on the "
                  "policy's segments; empty: people only", "choices": ("", *TEACHERS)})
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
        if self.robot:  # by the registries, before a reward or a cluster is looked for
            scene_robot(self.scene, self.robot)
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
        if self.online_teacher and not self.online_feedback:
            raise ConfigError("online_teacher: it answers the queries of --online-feedback; "
                              "give --online-feedback too")
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

    @property
    def checkpoints(self) -> bool:
        """Whether the run writes exact checkpoints to go on from (SAC keeps its policy only)."""
        return self.checkpoint_every > 0 and self.algorithm != "sac"

    @classmethod
    def for_scene(cls, scene: str, **fields: Any) -> RunConfig:
        """What a run of ``scene`` starts from (the CLI, the app, a sweep): the defaults, with
        the scene's ``ppo_options`` in its PPO and its ``preference_options`` in the reward it
        learns online (Reach's hand-to-target vector: from 100 labels, 63% success over 10
        seeds against 0.5% on every feature)."""
        online = OnlineFeedbackConfig()
        preference = with_scene_options(online.preference, scene)
        ppo = replace(PPOConfig(), **SCENES.load(scene).ppo_options)
        return cls(scene=scene, ppo=ppo, online=replace(online, preference=preference),
                   **fields)

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
