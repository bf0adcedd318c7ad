"""Fit a reward from a Workspace's episodes and record it there (what the CLI and GUI call)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from workbench.data.episode import one_robot
from workbench.data.takes import robots_takes
from workbench.data.workspace import Workspace
from workbench.envs.env import env_label, make_env, scene_info
from workbench.envs.replay import with_frames
from workbench.rewards.code.model import CodeConfig, CodeRewardModel, fit_code
from workbench.rewards.device import compute_report
from workbench.rewards.language.clip import ClipConfig, ClipGoalModel, fit_clip
from workbench.rewards.metrics import reward_report
from workbench.rewards.perceptual.config import PerceptualConfig
from workbench.rewards.perceptual.fit import fit_perceptual_progress
from workbench.rewards.perceptual.hindsight import can_relabel
from workbench.rewards.perceptual.model import PerceptualProgressModel
from workbench.rewards.preference.config import (
    PreferenceConfig,
    mirror_note,
    with_scene_mirror,
    with_scene_options,
)
from workbench.rewards.preference.dataset import queries_from_workspace
from workbench.rewards.preference.fit import fit_preference, preference_accuracy
from workbench.rewards.preference.model import PreferenceRewardModel
from workbench.rewards.progress.config import ProgressConfig
from workbench.rewards.progress.fit import fit_progress
from workbench.rewards.progress.model import ProgressRewardModel
from workbench.rewards.staged.config import StagedConfig
from workbench.rewards.staged.fit import fit_staged
from workbench.rewards.staged.model import StagedProgressModel
from workbench.rewards.vision_language.config import VisionLanguageConfig
from workbench.rewards.vision_language.fit import fit_vision_language
from workbench.rewards.vision_language.model import VisionLanguageProgressModel

NEGATIVE_SOURCES = ("random", "policy", "perturbed")
# A take-over that ends in success is a demonstration: a person finished what the policy began
# (its frames before the take-over count towards success as a demo's do).
DEMO_SOURCES = ("teleop", "scripted", "takeover")
# Why takes of two robots are refused, and what to do (their observations differ).
STATES = ("a state reward reads one robot's takes: name one ({robots}) with --robot, or in the "
          "Reward panel's list")
HINDSIGHT_FRAMES = 40  # per take, for a vision-language model where the sentence chooses


def fit_progress_in_workspace(
    workspace: Workspace,
    scene: str,
    config: ProgressConfig = ProgressConfig(),
    held_out_fraction: float = 0.2,
    on_epoch: Callable[[int, float], bool | None] | None = None,
    robot: str = "",
) -> tuple[ProgressRewardModel, dict[str, Any]]:
    """Fit on the scene's successful demos (teleop or scripted), failed rollouts as negatives.

    Every fifth successful demo is held out (when there are at least 5) to measure the reward
    against ground-truth progress; the report is saved with the model.
    """
    return _fit_from_demos(workspace, scene, fit_progress, config, held_out_fraction, on_epoch,
                           robot)


def fit_staged_in_workspace(
    workspace: Workspace,
    scene: str,
    config: StagedConfig = StagedConfig(),
    held_out_fraction: float = 0.2,
    on_epoch: Callable[[int, float], bool | None] | None = None,
    robot: str = "",
) -> tuple[StagedProgressModel, dict[str, Any]]:
    """The stage-aware progress family, on the same split as :func:`fit_progress_in_workspace`;
    stage labels come from the scene's stage predicates, replayed from the saved states."""
    return _fit_from_demos(workspace, scene, fit_staged, config, held_out_fraction, on_epoch,
                           robot)


def fit_code_in_workspace(
    workspace: Workspace,
    scene: str,
    config: CodeConfig | None = None,
    held_out_fraction: float = 0.0,
    on_epoch: Callable[[int, float], bool | None] | None = None,
    robot: str = "",
) -> tuple[CodeRewardModel, dict[str, Any]]:
    """Reward code, stored with its source and measured on every recorded demo and failed take
    of the scene (it learns nothing, so nothing is held out). Code needs no takes: where the
    scene has none yet (the legged robots' scenes have no demonstrator), it is checked on a
    short episode of random actions, and the report measures nothing."""
    config = config or CodeConfig()
    demos, negatives = _demos_and_failures(workspace, scene, robot)
    load = workspace.load_episode
    demo_episodes = [load(r["id"]) for r in demos]
    failed = [load(r["id"]) for r in negatives]
    if demos or negatives:
        one_robot(demos + negatives, scene, STATES)
        features = _declared_features(demos + negatives)
        samples = {kind: episodes[0]["state"] for kind, episodes in
                   (("demo", demo_episodes), ("failure", failed)) if episodes}
    else:
        features, states = _random_actions(scene, robot)
        samples = {"random actions": states}
    model = fit_code(samples, scene, features, config)
    report = {"train_demos": 0, "train_negatives": 0, **model.metrics,
              **reward_report(model, demo_episodes, failed)}
    return model, store_model(workspace, model, scene, report)


def _random_actions(scene: str, robot: str, steps: int = 100
                    ) -> tuple[dict[str, int], np.ndarray]:
    """The scene's feature layout and the states of ``steps`` random actions from seed 0's
    start (an episode that ends sooner stops there)."""
    env = make_env(scene, robot=robot or None)
    try:
        env.reset(seed=0)
        env.action_space.seed(0)
        states = [env.state_vector()]
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            states.append(env.state_vector())
            if terminated or truncated:
                break
        return dict(env.features), np.stack(states)
    finally:
        env.close()


def _fit_from_demos(workspace, scene, fit, config, held_out_fraction, on_epoch, robot=""):
    train, train_neg, held, held_neg = _split_demos(workspace, scene, held_out_fraction, robot)
    one_robot(train + train_neg + held + held_neg, scene, STATES)  # frame rewards take both
    features = _declared_features(train)
    load = workspace.load_episode
    model = fit([load(r["id"]) for r in train], scene, features,
                [load(r["id"]) for r in train_neg], config, on_epoch)
    report: dict[str, Any] = {
        "train_demos": len(train),
        "train_negatives": len(train_neg),
    }
    if held:
        report.update(
            reward_report(model, [load(r["id"]) for r in held], [load(r["id"]) for r in held_neg])
        )
    return model, store_model(workspace, model, scene, report)


def fit_perceptual_in_workspace(
    workspace: Workspace,
    scene: str,
    config: PerceptualConfig = PerceptualConfig(),
    held_out_fraction: float = 0.2,
    on_epoch: Callable[[int, float], bool | None] | None = None,
    robot: str = "",
) -> tuple[PerceptualProgressModel, dict[str, Any]]:
    """The progress reward from camera frames: the same split as
    :func:`fit_progress_in_workspace`; takes recorded without the model's cameras get their
    frames rendered from their saved states (at the model's image size, not changing them)."""
    return _fit_on_frames(workspace, scene, fit_perceptual_progress, config, config,
                          held_out_fraction, on_epoch, robot)


def fit_vision_language_in_workspace(
    workspace: Workspace,
    scene: str,
    config: VisionLanguageConfig = VisionLanguageConfig(),
    held_out_fraction: float = 0.2,
    on_epoch: Callable[[int, float], bool | None] | None = None,
    robot: str = "",
) -> tuple[VisionLanguageProgressModel, dict[str, Any]]:
    """Progress towards a goal sentence from camera frames, fitted on the demos with their goal
    texts (and the failed takes); the same split and report as the perceptual family."""
    return _fit_on_frames(workspace, scene, fit_vision_language, config, config.frames,
                          held_out_fraction, on_epoch, robot)


def fit_clip_in_workspace(
    workspace: Workspace,
    scene: str,
    config: ClipConfig | None = None,
    held_out_fraction: float = 0.0,
    on_epoch: Callable[[int, float], bool | None] | None = None,
    robot: str = "",
) -> tuple[ClipGoalModel, dict[str, Any]]:
    """A zero-shot CLIP goal reward from a local checkpoint, measured on every recorded demo
    and failed take of the scene (rendered with its cameras where they were not recorded),
    towards each take's goal text, else ``config.goal``, else the scene's newest saved goal
    (and its baseline, when it has one)."""
    config = config or ClipConfig()
    saved = workspace.goals(scene)
    if not config.goal and saved:
        newest = saved[-1]
        config = replace(config, goal=newest["text"],
                         baseline=newest.get("baseline") or config.baseline)
    return _fit_on_frames(workspace, scene, fit_clip, config, config, held_out_fraction,
                          on_epoch, robot)


def _fit_on_frames(workspace: Workspace, scene: str, fit: Callable[..., Any], config: Any,
                   frames: Any, held_out_fraction: float,  # cameras, image_size
                   on_epoch: Callable[[int, float], bool | None] | None, robot: str = ""):
    train, train_neg, held, held_neg = _split_demos(workspace, scene, held_out_fraction, robot)

    def load(rows):
        return [with_frames(workspace.load_episode(r["id"]), tuple(frames.cameras),
                            frames.image_size) for r in rows]

    model = fit(load(train), scene, load(train_neg), config, on_epoch)
    report: dict[str, Any] = {"train_demos": len(train), "train_negatives": len(train_neg),
                              "cameras": list(frames.cameras), **model.metrics}
    if held:
        report.update(reward_report(model, load(held), load(held_neg)))
    return model, store_model(workspace, model, scene, report)


def vision_language_defaults(scene: str) -> VisionLanguageConfig:
    """The perceptual family's cameras and mirroring for ``scene``. Where the sentence chooses
    among things present together (``Task.goal_choices``: PushChoice's two pads) also its
    pretrained encoder and success head: the model reads where each thing is and learns which
    one a colour word means; and, where the scene can move its goal, hindsight frames (the
    success head's examples of the goal reached or just missed wherever a take went).
    Elsewhere the sentence names the colour of the only object, which a reading of positions
    would lose, so the model learns from the pixels."""
    from workbench.registry import SCENES

    frames = perceptual_defaults(scene)
    start = VisionLanguageConfig()
    seen = replace(start.frames, cameras=frames.cameras, mirror=frames.mirror)
    if SCENES.load(scene).goal_choices:
        seen = replace(seen, pretrain=frames.pretrain, heights=frames.heights,
                       success_head=frames.success_head,
                       hindsight=HINDSIGHT_FRAMES if can_relabel(scene) and frames.success_head
                       else 0)
    return replace(start, frames=seen)


def fit_preference_in_workspace(
    workspace: Workspace,
    scene: str,
    config: PreferenceConfig = PreferenceConfig(),
    held_out_fraction: float = 0.2,
    on_epoch: Callable[[int, float], bool | None] | None = None,
    robot: str = "",
) -> tuple[PreferenceRewardModel, dict[str, Any]]:
    """Fit on the workspace's pair and ranking labels of ``scene``; every fifth strict pair label
    is held out (when there are at least 10) to report preference accuracy."""
    rows = {r["id"]: r for r in robots_takes(workspace, scene, robot)}
    scene_ids = set(rows)
    prefs = [p for p in workspace.preferences() if all(s[0] in scene_ids for s in p.segments)]
    if not prefs:
        raise ValueError(
            f"no preference labels for {scene} in {workspace.root}; rank some clips first "
            f"(the Rank panel, or `workbench teach {scene}` for a synthetic teacher)"
        )
    queries = queries_from_workspace(workspace, scene_ids=scene_ids)
    step = int(round(1 / held_out_fraction)) if held_out_fraction > 0 else 0
    strict = [
        i for i, q in enumerate(queries) if q.kind == "pair" and q.answer in ("left", "right")
    ]
    held_idx = set(strict[step - 1 :: step]) if step and len(strict) >= 10 else set()
    train = [q for i, q in enumerate(queries) if i not in held_idx]
    held = [queries[i] for i in sorted(held_idx)]
    labelled = [rows[i] for i in sorted({s[0] for p in prefs for s in p.segments})]
    meta = one_robot(labelled, scene, STATES)
    if config.scene_mirror:  # the episodes' robot says which mirror the scene has
        with make_env(scene, robot=meta.get("robot")) as env:
            config = with_scene_mirror(config, env.mirror(), env_label(env))
    model = fit_preference(train, scene, _declared_features(labelled), config, on_epoch)
    report: dict[str, Any] = {"train_labels": len(train), "members": config.members,
                              **mirror_note(config)}
    if held:
        report["held_out_labels"] = len(held)
        report["preference_accuracy"] = preference_accuracy(model, held)
    return model, store_model(workspace, model, scene, report)


def progress_defaults(scene: str) -> ProgressConfig:
    """What a progress reward of ``scene`` starts from: the scene's ``progress_options``."""
    from workbench.registry import SCENES

    return replace(ProgressConfig(), **SCENES.load(scene).progress_options)


def preference_defaults(scene: str) -> PreferenceConfig:
    """What a preference reward of ``scene`` starts from: the scene's ``preference_options``."""
    return with_scene_options(PreferenceConfig(), scene)


def perceptual_defaults(scene: str) -> PerceptualConfig:
    """What a perceptual reward of ``scene`` starts from: its first two fixed cameras (a
    cabinet's "front" looks at its back), mirror flips where layouts come in mirror images, and
    the scene's own ``perceptual_options`` (which may name other cameras)."""
    from workbench.registry import SCENES

    task = SCENES.load(scene)
    cameras = tuple(c for c in task.cameras if not c.startswith("robot/"))[:2]
    options = {**({"cameras": cameras} if cameras else {}), "mirror": task.mirrored_layouts,
               **task.perceptual_options}
    return replace(PerceptualConfig(), **options)


def _declared_features(rows: list[dict[str, Any]]) -> dict[str, int]:
    """The observation layout the episodes were recorded with (name -> size)."""
    features = rows[0]["meta"].get("features")
    if not features:
        raise ValueError("these episodes do not declare their observation features")
    return dict(features)


def _demos_and_failures(workspace: Workspace, scene: str, robot: str = ""):
    """The scene's successful demos (teleop, scripted or a person's take-over) and failed
    rollouts, of ``robot`` where given."""
    rows = robots_takes(workspace, scene, robot)
    return ([r for r in rows if r["source"] in DEMO_SOURCES and r["success"]],
            [r for r in rows if r["source"] in NEGATIVE_SOURCES and not r["success"]])


def _split_demos(workspace: Workspace, scene: str, held_out_fraction: float, robot: str = ""):
    """Successful demos (teleop, scripted or a person's take-over) and failed rollouts (of
    ``robot`` where given), each split into train and held out: every fifth demo (when there
    are at least 5) and every fifth failure."""
    demos, negatives = _demos_and_failures(workspace, scene, robot)
    if not demos:
        where = f"no successful demonstrations of {scene} in {workspace.root}"
        if scene_info(scene)["demonstrator"]:
            raise ValueError(f"{where}; record some first (`workbench record {scene} "
                             "--scripted 10` or the Record panel)")
        raise ValueError(f"{where}, and the scene has no scripted demonstrator: rank clips "
                         f"(`workbench teach {scene}` or the Rank panel) and fit --family "
                         "preference, or give a goal or reward code")
    step = int(round(1 / held_out_fraction)) if held_out_fraction > 0 else 0
    held = [r for i, r in enumerate(demos) if step and len(demos) >= 5 and i % step == step - 1]
    train = [r for r in demos if r not in held]
    held_neg = negatives[1::step] if step and len(negatives) >= 5 else []
    train_neg = [r for r in negatives if r not in held_neg]
    return train, train_neg, held, held_neg


def store_model(
    workspace: Workspace, model: Any, scene: str, report: dict[str, Any]
) -> dict[str, Any]:
    """Save the artifact with its report (and where it was fitted) under models/ and index it;
    the report plus its id."""
    report = {**report, **compute_report(model)}
    model.metrics = report
    name = f"{model.family}-{scene}"
    path = workspace.new_artifact_dir("models", name)
    model.save(path)
    model_id = workspace.add_model(name, model.family, scene, path, report)
    return {"model_id": model_id, "path": str(path), **report}
