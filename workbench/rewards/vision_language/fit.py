"""Fit a vision-language progress model on demos with their goal texts.

Positives: each demo's frames under its own goal, labelled with the progress family's targets
(normalised time up to the first success, discretised; a frame part-way through a demo is a
temporally clipped success, hence partial progress). Negatives: (1) the same frames under
counterfactual goals, the demo's sentence with another colour or object of the scene's
vocabulary named, labelled 0: this is what makes the model read the sentence; (2) the last
frames of failed rollouts under their own goal, labelled 0. Each frame is encoded once per step
and scored under its own goal and one counterfactual goal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from workbench.data.episode import Episode
from workbench.registry import SCENES
from workbench.rewards.language.encoder import embed
from workbench.rewards.perceptual.fit import augment
from workbench.rewards.perceptual.model import to_tensor
from workbench.rewards.progress.config import ProgressConfig
from workbench.rewards.progress.fit import progress_targets
from workbench.rewards.training import fit_minibatches
from workbench.rewards.vision_language.config import VisionLanguageConfig
from workbench.rewards.vision_language.model import VisionLanguageProgressModel
from workbench.task import Vocabulary


def counterfactual_goals(goal: str, vocabulary: Vocabulary, count: int,
                         rng: np.random.Generator) -> list[str]:
    """Up to ``count`` sentences that differ from ``goal`` in one named colour (or, with no
    colour in it, one named object): goals the demo of ``goal`` does not achieve."""
    words = re.findall(r"[a-z]+", goal.lower())
    named = [w for w in words if w in vocabulary.colours]
    pool = [c for c in vocabulary.colours if c not in named]
    if not named:
        synonyms = {s: obj for obj, names in vocabulary.objects.items() for s in (obj, *names)}
        named = [w for w in words if w in synonyms]
        pool = [obj for obj in vocabulary.objects if obj not in {synonyms[w] for w in named}]
    if not named or not pool:
        return []
    variants = set()
    for _ in range(8 * count):
        old, new = named[rng.integers(len(named))], pool[rng.integers(len(pool))]
        variants.add(re.sub(rf"\b{old}\b", new, goal, count=1, flags=re.IGNORECASE))
        if len(variants) == count:
            break
    return sorted(variants)


def fit_vision_language(
    demos: Sequence[Episode],
    scene: str,
    negatives: Sequence[Episode] = (),
    config: VisionLanguageConfig = VisionLanguageConfig(),
    on_epoch: Callable[[int, float], bool | None] | None = None,
) -> VisionLanguageProgressModel:
    """Fit on ``demos`` (each with its goal text); ``on_epoch(epoch, loss)`` may stop it."""
    if not demos:
        raise ValueError("fitting a vision-language reward needs at least one demonstration")
    frames_config = config.frames
    torch.manual_seed(frames_config.seed)
    rng = np.random.default_rng(frames_config.seed)
    model = VisionLanguageProgressModel(scene, config, device=frames_config.device)
    vocabulary = SCENES.load(scene).vocabulary
    labels = ProgressConfig(bins=frames_config.bins,
                            hold_after_success=frames_config.hold_after_success)

    goals: list[str] = []  # distinct sentences; rows refer to them by index

    def goal_index(text: str) -> int:
        if text not in goals:
            goals.append(text)
        return goals.index(text)

    frames, targets, weights, own, mismatched = [], [], [], [], []
    for demo in demos:
        goal = model.goal_of(demo)
        others = [goal_index(g) for g in
                  counterfactual_goals(goal, vocabulary, config.counterfactuals, rng)]
        clip = model.frames_of(demo)
        frames.append(clip)
        targets.append(progress_targets(demo, labels))
        weights.append(np.ones(len(clip), np.float32))
        own.append(np.full(len(clip), goal_index(goal)))
        mismatched.append(rng.choice(others, size=len(clip)) if others
                          else np.full(len(clip), -1))
    for episode in negatives:
        tail = model.frames_of(episode)[int(len(episode) * (1.0 - frames_config.negative_tail)):]
        frames.append(tail)
        targets.append(np.zeros(len(tail), np.float32))
        weights.append(np.full(len(tail), frames_config.negative_weight, np.float32))
        own.append(np.full(len(tail), goal_index(model.goal_of(episode))))
        mismatched.append(np.full(len(tail), -1))

    device = model.device
    x = to_tensor(np.concatenate(frames), frames_config.image_size, torch.device("cpu"))
    y = torch.as_tensor(np.concatenate(targets))
    w = torch.as_tensor(np.concatenate(weights))
    own_goal = torch.as_tensor(np.concatenate(own))
    other_goal = torch.as_tensor(np.concatenate(mismatched))
    vectors = torch.as_tensor(embed(goals), device=device)
    optimiser = torch.optim.AdamW(model.net.parameters(), lr=frames_config.lr,
                                  weight_decay=frames_config.weight_decay)
    generator = torch.Generator().manual_seed(frames_config.seed)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        batch = augment(x[idx], frames_config.shift, frames_config.colour_jitter, generator,
                        frames_config.mirror).to(device)
        features = model.net.frame_features(batch)
        logits = model.net.goal_logits(features, vectors[own_goal[idx].to(device)])
        loss = (F.binary_cross_entropy_with_logits(
            logits, y[idx].to(device), reduction="none") * w[idx].to(device)).sum()
        norm = w[idx].sum()
        has_other = other_goal[idx] >= 0
        if has_other.any():  # the same frames under a mismatched goal: progress 0
            rows = has_other.nonzero().squeeze(-1)
            wrong = model.net.goal_logits(features[rows.to(device)],
                                          vectors[other_goal[idx][rows].to(device)])
            loss = loss + config.mismatch_weight * F.binary_cross_entropy_with_logits(
                wrong, torch.zeros_like(wrong), reduction="sum")
            norm = norm + config.mismatch_weight * len(rows)
        return loss / norm.to(device)

    fit_minibatches(model.net, optimiser, len(x), frames_config.epochs,
                    frames_config.batch_size, generator, batch_loss, on_epoch)
    return model
