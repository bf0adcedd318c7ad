"""What a training run trains on: its envs (made again elsewhere when a cluster node is lost),
the reward on them (a stored model, the scene's own, or one learned from feedback while it
trains) and the steps a person took over. ``workbench.rl.run`` puts them together."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from workbench.config import ConfigError
from workbench.data.segments import SegmentCache
from workbench.data.workspace import Workspace
from workbench.envs.env import declared_mirror, env_label, make_env
from workbench.envs.frames import RenderedFrames
from workbench.envs.registration import env_id
from workbench.feedback.teachers import TEACHERS
from workbench.registry import ROBOTS, same_kind
from workbench.rewards import families
from workbench.rewards.artifact import load_reward_model
from workbench.rewards.preference.config import with_scene_mirror
from workbench.rewards.preference.dataset import queries_from_workspace
from workbench.rewards.transforms import progress_reward
from workbench.rl.distill import DistilledFrameReward
from workbench.rl.online_reward import OnlinePreference
from workbench.rl.ppo import Callback, TrainProgress, make_vector_env, make_wrapped
from workbench.rl.reward_wrapper import LearnedRewardWrapper, SuccessRewardWrapper
from workbench.rl.run_config import REWARDS, RunConfig
from workbench.rl.takeover import (
    Interventions,
    interventions_from_episodes,
    interventions_from_logs,
)
from workbench.teleop.recorder import record_policy_episodes


def resolve_reward(workspace: Workspace, config: RunConfig) -> str | None:
    """The model folder a run's reward names (None for the rewards that need none)."""
    scene, reward = config.scene, config.reward
    if reward in ("reference", "sparse", "grounded"):
        return None
    if reward == "model":
        return str(reward_model_folder(workspace.root, config))
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


def reward_model_folder(root: Path, config: RunConfig, named: str = "reward_model") -> Path:
    """The folder ``reward_model`` names (a relative one is read from the workspace at
    ``root``, as a stored path is), refused in one line naming the setting that gave it
    (``named``) where there is none."""
    folder = root / config.reward_model  # an absolute reward_model stays as it is
    if not folder.is_dir():
        raise ConfigError(f"{named}: {folder} is not a reward model folder (a relative "
                          f"folder is read from the workspace, {root})")
    return folder


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


def run_envs(config: RunConfig) -> tuple[dict[str, Any], Any]:
    """What every training env is made with, and the env the run is evaluated on (the
    scene's nominal robot, the goal sentence's own choice)."""
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
    return env_kwargs, eval_env


def run_reward_model(reward_path: str, config: RunConfig, env) -> Any:
    """The stored reward model the run trains on in ``env``'s scene, refused where it cannot
    drive this run."""
    model = load_reward_model(reward_path, device=config.ppo.device)
    if model.family in families.artifacts_consuming("frames+goal"):
        if not config.goal:
            raise ValueError(f"a {model.family} reward scores frames towards a goal sentence: "
                             "give one (--goal \"push the cube onto the blue pad\")")
        model = model.for_goal(config.goal)  # then a frame reward like any other
    elif model.family not in trainable_families():
        raise ValueError(f"a {model.family} reward cannot drive training (train on a "
                         "progress, staged, perceptual, preference, vision-language or "
                         "code model)")
    if model.scene != config.scene:
        raise ValueError(f"reward model {reward_path} was fitted on {model.scene}; train "
                         f"on {model.scene} or fit one for {config.scene}")
    fitted_on = getattr(model, "features", None)
    if not model.cameras and fitted_on not in (None, env.features):
        robots = [name for name in same_kind(config.scene) if name != env.robot_name
                  and _observations(config.scene, name) == fitted_on]
        if robots:  # takes recorded with another robot: the usual way to get here
            raise ValueError(f"the reward model was fitted on {robots[0]}'s takes of "
                             f"{config.scene}, not {env.robot_name}'s: train with --robot "
                             f"{robots[0]} (the Train panel's robot), or fit one on "
                             f"{env.robot_name}'s takes")
        model.check_features(env.features)  # its own message: the layouts side by side
    return model


def _observations(scene: str, robot: str) -> dict[str, int]:
    env = make_env(scene, robot=robot)
    try:
        return dict(env.features)
    finally:
        env.close()


class TrainingEnvs:
    """A run's training envs and its reward on them, made again elsewhere when a cluster
    node is lost."""

    def __init__(self, config: RunConfig, env_kwargs: dict[str, Any], model: Any,
                 gamma: float, features: Any):
        self.config, self.env_kwargs, self.model = config, env_kwargs, model
        self.gamma, self.features = gamma, features
        self.refits_probe = False  # whether a distilled reward refits its probe (kept at the end)
        # A reward over camera frames: the sub-envs render the model's cameras (after every
        # step when direct, a share of them when distilled) and the model scores the batch.
        self.wrap = None
        if model is not None and model.cameras:
            cameras, size = model.cameras, model.frame_config.image_size
            self.wrap = lambda env: RenderedFrames(env, cameras, size)

    def make(self, avoid: frozenset[str] = frozenset()) -> gym.vector.VectorEnv:
        """The envs, unrewarded: in this process, or in Ray actors off the ``avoid`` nodes."""
        config = self.config
        if config.cluster:  # the envs step in Ray actors; the reward is scored here
            from workbench.rl.ray_rollouts import RayVectorEnv

            make = functools.partial(make_wrapped, env_id(config.scene), self.env_kwargs,
                                     self.wrap)
            return RayVectorEnv(make, config.ppo.num_envs, config.rollout_actors, config.cluster,
                                avoid)
        return make_vector_env(env_id(config.scene),
                               1 if config.algorithm == "sac" else config.ppo.num_envs,
                               self.env_kwargs, wrap=self.wrap)

    def rewarded(self, envs: gym.vector.VectorEnv
                 ) -> tuple[gym.vector.VectorEnv, tuple[Callback, ...]]:
        """``envs`` with the run's reward, and what refits it between updates."""
        config, model = self.config, self.model
        if config.reward == "sparse":
            return SuccessRewardWrapper(envs), ()
        if model is not None and model.cameras and config.frame_scoring == "distilled":
            distilled = DistilledFrameReward(envs, model, config.transform, self.gamma,
                                             config.distill)
            self.refits_probe = distilled.probe is not None
            return distilled, (distilled.callback(),)
        if model is not None:
            return LearnedRewardWrapper(envs, model, config.transform, self.gamma,
                                        features=self.features), ()
        return envs, ()


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


def online_feedback(workspace: Workspace, config: RunConfig, envs, eval_env):
    """The wrapper, callbacks and learner of a run whose reward is learned while it trains.

    Each feedback round first records ``online_clips`` episodes of the current policy into the
    workspace (source "policy"), so the Rank panel offers the policy's newest behaviour; the
    learner then refits on every label of the scene's episodes, plus its synthetic teacher's.
    """
    teacher = TEACHERS[config.online_teacher] if config.online_teacher else None
    cache = SegmentCache(workspace)  # each episode is read once over the whole run

    def workspace_labels():  # of the episodes this run's robot could have recorded
        ids = {row["id"] for row in workspace.episodes(scene=config.scene)
               if row["meta"].get("features") == eval_env.features}
        return queries_from_workspace(workspace, scene_ids=ids, cache=cache)

    preference = with_scene_mirror(config.online.preference, declared_mirror(eval_env),
                                   env_label(eval_env))
    learner = OnlinePreference(config.scene, eval_env.features,
                               replace(config.online, preference=preference), teacher,
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
