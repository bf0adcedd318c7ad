"""Every reward family, declared once.

A family is a model class (which names its artifacts' ``family`` and its config class), what it
consumes, how it is fitted over a Workspace, and a typed hook for a scene's defaults. The CLI's
``--family`` choices, the Reward panel, ``load_reward_model``, training and the reward report
all read this table, so adding a family touches its own folder and one ``register`` call here.

Entries name their code as ``"module:attribute"`` and import it on first use: the CLI lists
families without importing torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import numpy as np

# What a family scores: state vectors, camera frames of named views, or frames plus a goal
# sentence. Training feeds state families directly (see workbench.rl.run).
Consumes = Literal["states", "frames", "frames+goal"]


class RewardModel(Protocol):
    """What every family's model offers, so that callers never ask what kind it is."""

    family: ClassVar[str]  # the artifact's name of the family
    config_class: ClassVar[type]
    scene: str
    config: Any
    cameras: tuple[str, ...]  # the views it scores; empty for a model over state vectors
    metrics: dict[str, Any]  # its report against ground truth, saved with it

    def score(self, batch: np.ndarray) -> np.ndarray:
        """The per-step signal for a batch of states, or of (N, V, H, W, 3) frames."""
        ...

    def progress_episode(self, episode: Any) -> np.ndarray:
        """That signal along a recorded episode (frames of ``cameras`` where it needs them)."""
        ...

    def save(self, path: str | Path) -> Path: ...


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class RewardFamily:
    name: str  # what a person picks: `train-reward --family NAME`, the Reward panel
    title: str  # one line for the Reward panel's list
    consumes: Consumes
    model: str  # "module:Class" with ``family`` (the artifact's name) and ``config_class``
    # "module:function(workspace, scene, config, on_epoch=None[, robot=''])": ``robot`` is
    # passed only where a person names one (`train-reward --robot so101`).
    fit: str | None = None
    scene_defaults: str | None = None  # "module:function(scene) -> config"
    # A config field naming a folder on this computer that the fit reads (CLIP's checkpoint):
    # the Reward panel asks for it with a folder picker.
    local_folder: str | None = None

    @property
    def model_class(self) -> Any:  # a class following RewardModel
        return _resolve(self.model)

    @property
    def artifact(self) -> str:
        """The ``family`` written into this family's artifacts."""
        return self.model_class.family

    @property
    def config_class(self) -> type[Any]:
        return self.model_class.config_class

    def default_config(self, scene: str | None = None) -> Any:
        """The config a fit starts from: the scene's defaults where the family has them."""
        if scene and self.scene_defaults:
            hook: Callable[[str], Any] = _resolve(self.scene_defaults)
            return hook(scene)
        return self.config_class()

    def fit_function(self) -> Callable[..., tuple[Any, dict[str, Any]]]:
        if self.fit is None:
            raise ValueError(f"the {self.name} reward is fitted from code, not from a workspace "
                             f"(see {self.model})")
        return _resolve(self.fit)


_FAMILIES: dict[str, RewardFamily] = {}


def register(family: RewardFamily) -> RewardFamily:
    """Add a family for this process (tests and plugins); a name is registered once."""
    if family.name in _FAMILIES:
        raise ValueError(f"reward family {family.name!r} is registered already")
    _FAMILIES[family.name] = family
    return family


def unregister(name: str) -> None:
    _FAMILIES.pop(name, None)


def all_families() -> list[RewardFamily]:
    return list(_FAMILIES.values())


def fittable() -> list[str]:
    """Names of the families a person can fit from a workspace (the CLI's and panel's list)."""
    return [f.name for f in _FAMILIES.values() if f.fit is not None]


def get(name: str) -> RewardFamily:
    if name not in _FAMILIES:
        raise ValueError(f"unknown reward family {name!r}; choose from {', '.join(fittable())}")
    return _FAMILIES[name]


def by_artifact(artifact: str) -> RewardFamily:
    """The family whose artifacts say ``"family": artifact``."""
    for family in _FAMILIES.values():
        if family.artifact == artifact:
            return family
    known = ", ".join(f.artifact for f in _FAMILIES.values())
    raise ValueError(f"unknown reward family {artifact!r}; known: {known}")


def artifacts_consuming(*kinds: Consumes) -> set[str]:
    """Artifact names of the families that consume ``kinds`` (e.g. what trains from states)."""
    return {f.artifact for f in _FAMILIES.values() if f.consumes in kinds}


_WORKFLOW = "workbench.rewards.workflow"
register(RewardFamily(
    "progress", "progress — from your demonstrations", "states",
    "workbench.rewards.progress.model:ProgressRewardModel",
    fit=f"{_WORKFLOW}:fit_progress_in_workspace",
    scene_defaults=f"{_WORKFLOW}:progress_defaults"))
register(RewardFamily(
    "staged", "staged progress — the scene's stages in your demonstrations", "states",
    "workbench.rewards.staged.model:StagedProgressModel",
    fit=f"{_WORKFLOW}:fit_staged_in_workspace"))
register(RewardFamily(
    "perceptual", "perceptual progress — from camera frames of your demonstrations", "frames",
    "workbench.rewards.perceptual.model:PerceptualProgressModel",
    fit=f"{_WORKFLOW}:fit_perceptual_in_workspace",
    scene_defaults=f"{_WORKFLOW}:perceptual_defaults"))
register(RewardFamily(
    "preference", "preference — from your rankings", "states",
    "workbench.rewards.preference.model:PreferenceRewardModel",
    fit=f"{_WORKFLOW}:fit_preference_in_workspace",
    scene_defaults=f"{_WORKFLOW}:preference_defaults"))
register(RewardFamily(
    "vision_language", "vision-language progress — frames and the goal sentence", "frames+goal",
    "workbench.rewards.vision_language.model:VisionLanguageProgressModel",
    fit=f"{_WORKFLOW}:fit_vision_language_in_workspace",
    scene_defaults=f"{_WORKFLOW}:vision_language_defaults"))
register(RewardFamily(
    "code", "reward code — a function you or a language model write over the scene's features",
    "states", "workbench.rewards.code.model:CodeRewardModel",
    fit=f"{_WORKFLOW}:fit_code_in_workspace"))
register(RewardFamily(
    "clip", "CLIP goal reward — a CLIP checkpoint on this computer and the goal sentence",
    "frames+goal", "workbench.rewards.language.clip:ClipGoalModel",
    fit=f"{_WORKFLOW}:fit_clip_in_workspace", local_folder="weights"))
