"""Fit a vision-language progress model on demos with their goal texts.

Positives: each demo's frames under its own goal, labelled with the progress family's targets
(normalised time up to the first success, discretised; a frame part-way through a demo is a
temporally clipped success, hence partial progress). Negatives: (1) the same frames under
counterfactual goals, the demo's sentence with another colour or object of the scene's
vocabulary named, labelled 0: this is what makes the model read the sentence; (2) the last
frames of failed rollouts under their own goal (and, where the sentence chooses between things,
under the other choices too), labelled 0. With ``hindsight``, the success head also sees each
take's states re-rendered with its goal moved onto or just off what the take moved
(:mod:`workbench.rewards.perceptual.hindsight`). Each frame is encoded once per step and scored
under its own goal and one counterfactual goal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from workbench.data.episode import Episode
from workbench.registry import SCENES
from workbench.rewards.language.encoder import embed
from workbench.rewards.perceptual.fit import augment, balanced_weights
from workbench.rewards.perceptual.hindsight import hindsight_frames
from workbench.rewards.perceptual.model import to_tensor
from workbench.rewards.perceptual.pretrain import pretrain_encoder, relation_names
from workbench.rewards.progress.config import ProgressConfig
from workbench.rewards.progress.fit import progress_targets
from workbench.rewards.training import fit_minibatches
from workbench.rewards.vision_language.config import VisionLanguageConfig
from workbench.rewards.vision_language.model import VisionLanguageProgressModel
from workbench.task import Vocabulary

# Hindsight goals (multiples of the scene's success radius): reached ones anywhere inside it,
# missed ones from just outside it, where a policy would otherwise stop.
WITHIN, NEAR_MISS = 0.8, 1.2


def counterfactual_goals(goal: str, vocabulary: Vocabulary, count: int,
                         rng: np.random.Generator,
                         choices: Collection[str] = ()) -> list[str]:
    """Up to ``count`` sentences that differ from ``goal`` in one named colour (or, with no
    colour in it, one named object): goals the demo of ``goal`` does not achieve. ``choices``:
    where the sentence chooses among things present together (PushChoice's pads), only their
    colours are swapped, for one another: what the goal chooses is what the model must read."""
    words = re.findall(r"[a-z]+", goal.lower())
    colours = tuple(choices) or vocabulary.colours
    named = [w for w in words if w in colours]
    pool = [c for c in colours if c not in named]
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


def unnamed_relations(names: Sequence[str], goals: Sequence[str],
                      choices: Collection[str]) -> torch.Tensor:
    """(goals, relations) bool: the relations that name a chosen thing's colour which the goal
    does not name (``cube_to_blue_pad length`` under "push the cube onto the green pad")."""
    def colours(text: str) -> set[str]:
        return set(re.findall(r"[a-z]+", text.lower())) & set(choices)

    return torch.tensor([[bool(colours(name) - colours(goal)) for name in names]
                         for goal in goals], dtype=torch.bool)


def shuffled(seen: torch.Tensor, mask: torch.Tensor, generator: torch.Generator
             ) -> torch.Tensor:
    """``seen`` (N, R) with the masked entries taken from other rows of the batch."""
    if len(seen) < 2:
        return seen
    order = torch.randperm(len(seen), generator=generator).to(seen.device)
    return torch.where(mask, seen[order], seen)


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
    trained = list(model.net.parameters())
    if frames_config.pretrain:  # the encoder learns where things are, then stays as it is
        model.metrics.update(pretrain_encoder(model.net, scene, frames_config))
        model.net.encoder.requires_grad_(False)
        model.net.probe.requires_grad_(False)
        trained = [*model.net.fuse.parameters(), *model.net.film.parameters(),
                   *model.net.head.parameters()]
    success_head = frames_config.success_head
    task = SCENES.load(scene)
    vocabulary = task.vocabulary
    choices = [c for role in task.goal_choices for c in task.goal_colours.get(role, ())]
    labels = ProgressConfig(bins=frames_config.bins,
                            hold_after_success=frames_config.hold_after_success)

    goals: list[str] = []  # distinct sentences; rows refer to them by index

    def goal_index(text: str) -> int:
        if text not in goals:
            goals.append(text)
        return goals.index(text)

    def mismatched_goals(goal: str, count: int) -> np.ndarray:
        """Per frame, the index of a counterfactual goal it is scored 0 under (-1: none)."""
        others = [goal_index(g) for g in counterfactual_goals(
            goal, vocabulary, config.counterfactuals, rng, choices)]
        return rng.choice(others, size=count) if others else np.full(count, -1)

    frames, targets, weights, own, mismatched, succeeded = [], [], [], [], [], []
    for demo in demos:
        goal = model.goal_of(demo)
        clip = model.frames_of(demo)
        mismatched.append(mismatched_goals(goal, len(clip)))  # indexes its goals first
        frames.append(clip)
        targets.append(progress_targets(demo, labels))
        weights.append(np.ones(len(clip), np.float32))
        own.append(np.full(len(clip), goal_index(goal)))
        succeeded.append(np.maximum.accumulate(np.asarray(
            demo.get("success", np.zeros(len(demo))), bool)).astype(np.float32))
    for episode in negatives:
        # The time head learns 0 on a failed take's last part; a success head takes all of it
        # as "not achieved". (Unlike the perceptual family's, the time head keeps its
        # negatives: it sees where things are, and without them it extrapolates to states no
        # demo showed, the hand far from the cube, as progress.)
        kept = model.frames_of(episode)[0 if success_head else
                                        int(len(episode) * (1.0 - frames_config.negative_tail)):]
        tail = int(len(episode) * frames_config.negative_tail)
        frames.append(kept)
        targets.append(np.zeros(len(kept), np.float32))
        weights.append(np.where(np.arange(len(kept)) >= len(kept) - tail,
                                frames_config.negative_weight, 0.0).astype(np.float32))
        goal = model.goal_of(episode)
        own.append(np.full(len(kept), goal_index(goal)))
        # Where the sentence chooses, a failed take achieved no other choice either: each goal
        # then learns from every failure, not only from those recorded under it.
        mismatched.append(mismatched_goals(goal, len(kept)) if choices
                          else np.full(len(kept), -1))
        succeeded.append(np.zeros(len(kept), np.float32))
    if frames_config.hindsight:
        if not success_head:
            raise ValueError("hindsight frames train the success head: set success_head=True "
                             "with hindsight > 0")
        # Each take's states with its named goal moved onto the cube, or just off the success
        # radius: success wherever the cube went and whatever the hand does, and where it ends
        # (a policy on a reward blind to that stops its cube on the pad's rim).
        for episode in (*demos, *negatives):
            shown, _, reached = hindsight_frames(episode, model.cameras, frames_config.hindsight,
                                                 rng, near=NEAR_MISS, within=WITHIN)
            goal = model.goal_of(episode)
            frames.append(shown)
            targets.append(np.zeros(len(shown), np.float32))
            weights.append(np.zeros(len(shown), np.float32))  # not for the time head
            own.append(np.full(len(shown), goal_index(goal)))
            mismatched.append(mismatched_goals(goal, len(shown)))
            succeeded.append(reached)

    device = model.device
    x = to_tensor(np.concatenate(frames), frames_config.image_size, torch.device("cpu"))
    y = torch.as_tensor(np.concatenate(targets))
    w = torch.as_tensor(np.concatenate(weights))
    own_goal = torch.as_tensor(np.concatenate(own))
    other_goal = torch.as_tensor(np.concatenate(mismatched))
    y_success = torch.as_tensor(np.concatenate(succeeded))
    w_success = balanced_weights(y_success)
    vectors = torch.as_tensor(embed(goals), device=device)
    optimiser = torch.optim.AdamW(trained, lr=frames_config.lr,
                                  weight_decay=frames_config.weight_decay)
    generator = torch.Generator().manual_seed(frames_config.seed)

    def weighted(logits, target, weight) -> tuple[torch.Tensor, torch.Tensor]:
        loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none") * weight
        return loss.sum(), weight.sum()

    # Where the model reads relations and the sentence chooses, each goal's nuisances: the
    # relations of a chosen thing it does not name (under "the green pad", the blue pad's).
    nuisance = (unnamed_relations(relation_names(model.layout, frames_config.heights), goals,
                                  choices).to(device)
                if model.layout is not None and choices else None)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        batch = augment(x[idx], frames_config.shift, frames_config.colour_jitter, generator,
                        frames_config.mirror).to(device)
        has_other = other_goal[idx] >= 0
        rows = has_other.nonzero().squeeze(-1).to(device)
        mine, others = own_goal[idx].to(device), other_goal[idx][has_other].to(device)
        if nuisance is None:
            features = model.net.frame_features(batch)
            wrong_features = features[rows]
        else:  # each row's nuisances from another frame: progress must not depend on them
            seen = model.net.seen_relations(batch)
            features = model.net.fuse(shuffled(seen, nuisance[mine], generator))
            wrong_features = model.net.fuse(shuffled(seen[rows], nuisance[others], generator))
        logits = model.net.goal_logits(features, vectors[mine])
        # The same frames under a mismatched goal: progress 0 on every head.
        wrong = model.net.goal_logits(wrong_features, vectors[others])
        mismatch = torch.full((len(rows),), config.mismatch_weight, device=device)
        total = torch.zeros((), device=device)
        for head, (target, weight) in enumerate(
                [(y, w), (y_success, w_success)][: logits.shape[1]]):
            loss, norm = weighted(logits[:, head], target[idx].to(device),
                                  weight[idx].to(device))
            wrong_loss, wrong_norm = weighted(wrong[:, head], torch.zeros_like(mismatch),
                                              mismatch)
            total = total + (loss + wrong_loss) / (norm + wrong_norm).clamp(min=1e-6)
        return total

    fit_minibatches(model.net, optimiser, len(x), frames_config.epochs,
                    frames_config.batch_size, generator, batch_loss, on_epoch)
    return model
