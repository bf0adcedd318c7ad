"""The live scene's stored reward models, as the app shows them: which families can be fitted
(and with which settings), the newest model's report and its reward along an episode, the
segments it likes most and least, and the rewards a run can train on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.rewards import families
from workbench.rewards.artifact import ArtifactError, load_reward_model
from workbench.rewards.code.author import AuthorConfig
from workbench.session.context import Context

# The rewards every scene can train on besides its stored models (RunConfig.reward values).
BUILT_IN = (("latest", "latest learned model"), ("reference", "the scene's reference reward"),
            ("sparse", "1 on success, else 0"))


@dataclass(frozen=True)
class FamilyChoice:
    name: str  # what a fit is asked for by
    title: str
    local_folder: str | None  # the config field naming a folder on this computer, if any


@dataclass
class RewardSummary:
    """The newest model in words, and its reward against the truth along one episode."""

    text: str
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    learned: np.ndarray = field(default_factory=lambda: np.zeros(0))
    truth: np.ndarray = field(default_factory=lambda: np.zeros(0))
    disagreement: np.ndarray = field(default_factory=lambda: np.zeros(0))


class RewardModels:
    def __init__(self, context: Context):
        self.context = context
        self._loaded: dict[int, Any] = {}  # by model id: each artifact is read once

    def clear(self) -> None:
        self._loaded.clear()

    # -- fitting -----------------------------------------------------------------------------
    @staticmethod
    def families() -> list[FamilyChoice]:
        return [FamilyChoice(f.name, f.title, f.local_folder)
                for f in (families.get(n) for n in families.fittable())]

    def default_config(self, family: str) -> Any:
        """The config a fit of ``family`` starts from on the live scene."""
        return families.get(family).default_config(self.context.scene)

    @staticmethod
    def author_config(**values: Any) -> AuthorConfig:
        """Settings of a language model that writes reward code (``JobBoard.write_reward``)."""
        return AuthorConfig(**values)

    # -- stored models -----------------------------------------------------------------------
    def stored(self) -> list[dict[str, Any]]:
        return self.context.workspace.models(self.context.scene)

    def latest(self, family: str | None = None) -> Any:
        """The newest model of the scene (of ``family``, an artifact name, if given), loaded
        once, or None."""
        rows = [m for m in self.stored() if family is None or m["family"] == family]
        if not rows:
            return None
        newest = rows[-1]
        if newest["id"] not in self._loaded:
            import torch

            # This process is the interactive one: its per-tick inference of a small model on
            # one thread leaves the other cores to the worker jobs (training, fitting).
            torch.set_num_threads(1)
            self._loaded[newest["id"]] = load_reward_model(newest["path"], device="cpu")
        return self._loaded[newest["id"]]

    def preference(self) -> Any:
        return self.latest("preference")

    def train_choices(self) -> list[tuple[str, str, str]]:
        """(label, RunConfig.reward, RunConfig.reward_model): the built-in rewards, then each
        stored model with its family and report."""
        stored = [(model_label(m), "model", str(m["path"])) for m in reversed(self.stored())]
        return [(f"{name} — {what}", name, "") for name, what in BUILT_IN] + stored

    def summary(self) -> RewardSummary:
        """The newest model's report, and its reward along the newest successful episode."""
        from workbench.rewards.inspect import reads, reward_along

        rows = self.stored()
        if not rows:
            return RewardSummary("no reward model yet: record demos, then fit")
        newest = rows[-1]
        summary = RewardSummary(report_text(newest))
        try:
            model = self.latest()
        except ArtifactError as exc:
            summary.text = str(exc)
            return summary
        episodes = [row for row in self.context.episodes() if reads(model, row)]
        if not episodes:
            return summary
        shown = ([e for e in episodes if e["success"]] or episodes)[-1]
        episode = self.context.workspace.load_episode(shown["id"])
        if not len(episode):
            return summary
        try:
            learned = reward_along(model, episode)
        except ValueError as exc:  # e.g. a goal reward and an episode without a goal
            summary.text = f"{summary.text} · {exc}"
            return summary
        if newest["family"] == "preference":  # rescale to [0, 1] to share the axis
            scale = np.ptp(learned) + 1e-9
            summary.disagreement = model.disagreement(episode["state"]) / (
                model.reward_std * scale)
            learned = (learned - learned.min()) / scale
        summary.steps, summary.learned = np.arange(len(episode)), learned
        summary.truth = episode["progress"]
        return summary

    def extreme_segments(self, length: int = 20, count: int = 3) -> Any:
        """The segments the newest reward likes most and least (best, worst), or None."""
        from workbench.rewards.inspect import extreme_segments

        model = self.latest()
        if model is None:
            return None
        return extreme_segments(model, self.context.workspace, self.context.scene, length,
                                count)


def model_label(model: dict[str, Any]) -> str:
    """``#12 perceptual_progress · Spearman 0.93 · success above failure 1.00``."""
    metrics = model["metrics"]
    parts = [f"#{model['id']} {model['family']}"]
    if "spearman_progress" in metrics:
        parts.append(f"Spearman {metrics['spearman_progress']:.2f}")
    if "success_vs_failure" in metrics:
        parts.append(f"success above failure {metrics['success_vs_failure']:.2f}")
    if "preference_accuracy" in metrics:
        parts.append(f"accuracy {metrics['preference_accuracy']:.2f}")
    return " · ".join(parts)


def report_text(model: dict[str, Any]) -> str:
    """A stored model's report against ground truth, in one line."""
    metrics = model["metrics"]
    if model["family"] == "preference":
        if "online_labels" in metrics:  # learnt while a policy trained
            parts = [f"preference model #{model['id']} from {metrics['online_labels']} labels "
                     "asked while training"]
        else:
            parts = [f"preference model #{model['id']} from {metrics.get('train_labels')} "
                     f"labels ({metrics.get('members')} members)"]
        if "mirror" in metrics:
            parts.append(f"told a mirror symmetry ({metrics['mirror']})")
    elif model["family"] == "reward_code":  # learns nothing: what it was checked on
        terms = ", ".join(metrics.get("terms", [])) or "none named"
        curves = metrics.get("term_curves", {})
        checked = ("random actions (no takes here yet)" if "random actions" in curves else
                   f"{metrics.get('held_out', 0)} demos"
                   + (" and the failed takes" if "failure" in curves else ""))
        parts = [f"reward code #{model['id']} (terms: {terms}), checked on {checked}"]
    else:
        kind = model["family"].replace("_", " ")
        views = f" ({', '.join(metrics['cameras'])} views)" if metrics.get("cameras") else ""
        parts = [f"{kind} model #{model['id']} from {metrics.get('train_demos')} demos{views}"]
    if "preference_accuracy" in metrics:
        parts.append(f"held-out label accuracy: {metrics['preference_accuracy']:.0%}")
    if "spearman_progress" in metrics:
        parts.append(f"Spearman vs ground truth: {metrics['spearman_progress']:.3f}")
    if "success_vs_failure" in metrics:
        parts.append(f"success ranked above failure: {metrics['success_vs_failure']:.0%}")
    if "epic_to_reference" in metrics:
        parts.append(f"EPIC distance to the scene's reward: {metrics['epic_to_reference']:.2f}"
                     " (0 same up to shaping, 0.5 unrelated)")
    errors = metrics.get("relation_error")
    lengths = [error for name, error in errors.items()
               if name.endswith("length")] if isinstance(errors, dict) else []
    if lengths:  # a pretrained encoder: how well it reads where things are
        parts.append(f"encoder reads distances to within {max(lengths) * 100:.1f} cm")
    if "device" in metrics:
        parts.append(f"fitted on {metrics['device']} ({metrics['precision']})")
    return " · ".join(parts)
