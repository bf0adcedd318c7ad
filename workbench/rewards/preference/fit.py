"""Fit a reward ensemble to preferences between segments.

Bradley-Terry for pairs: P(a > b) = sigmoid(R(a) - R(b)), R the sum of per-state rewards over a
segment; "equal" is the target 0.5, "skip" is left out, and label smoothing pulls targets
towards 0.5. Plackett-Luce for rankings of N segments: the log-probability of the order,
sum_i R(pi_i) - logsumexp_{j >= i} R(pi_j). Each member sees a Poisson-bootstrap weighting of
the labels, so the members disagree where the labels leave the reward undetermined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from workbench.rewards.preference.config import PreferenceConfig
from workbench.rewards.preference.model import PreferenceRewardModel

PAIR_TARGETS = {"left": 1.0, "right": 0.0, "equal": 0.5}


@dataclass(frozen=True)
class LabelledQuery:
    """States of each segment (T_i, d) and the answer: a pair answer or a ranking (best first)."""

    segments: tuple[np.ndarray, ...]
    answer: Any
    kind: str = "pair"


def _pad(segments: Sequence[np.ndarray], length: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    states = np.zeros((len(segments), length, dim), np.float32)
    mask = np.zeros((len(segments), length), np.float32)
    for i, seg in enumerate(segments):
        states[i, : len(seg)] = seg
        mask[i, : len(seg)] = 1.0
    return states, mask


def _segment_returns(model: PreferenceRewardModel, states, mask) -> torch.Tensor:
    """(Q, N, T, d) states -> (K, Q, N) segment returns per member."""
    q, n, t, d = states.shape
    rewards = model.net(states.reshape(-1, d)).reshape(-1, q, n, t)
    return (rewards * mask).sum(-1)


def _cropped(mask: torch.Tensor, crop: float, generator: torch.Generator) -> torch.Tensor:
    """``mask`` (Q, N, T) narrowed to one window per segment: the same length for every
    segment of a query (a share in [crop, 1] of its shortest), each at its own random start."""
    lengths = mask.sum(-1)  # (Q, N)
    shortest = lengths.min(-1).values  # (Q,)
    share = crop + (1.0 - crop) * torch.rand(shortest.shape, generator=generator,
                                             device=mask.device)
    window = torch.clamp(torch.round(share * shortest), min=1.0)  # (Q,)
    room = lengths - window[:, None]  # (Q, N): how far each window may start
    start = torch.floor(torch.rand(room.shape, generator=generator, device=mask.device)
                        * (room + 1.0))
    t = torch.arange(mask.shape[-1], device=mask.device, dtype=mask.dtype)
    inside = (t >= start[..., None]) & (t < (start + window[:, None])[..., None])
    return mask * inside


def fit_preference(
    queries: Sequence[LabelledQuery],
    scene: str,
    features: dict[str, int],
    config: PreferenceConfig = PreferenceConfig(),
    on_epoch: Callable[[int, float], bool | None] | None = None,
) -> PreferenceRewardModel:
    usable = [q for q in queries if not (q.kind == "pair" and q.answer == "skip")]
    if not usable:
        raise ValueError("no usable preference labels (all skipped?); rank some clips first")
    dim = sum(features.values())
    length = max(len(s) for q in usable for s in q.segments)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = PreferenceRewardModel(dim, features, scene, config, device=config.device)
    all_states = np.concatenate([s for q in usable for s in q.segments])
    model.set_normalisation(all_states)
    device = model.device

    # Group queries by shape: pairs, and rankings by their number of segments.
    groups: dict[int, list[LabelledQuery]] = {}
    for q in usable:
        groups.setdefault(len(q.segments), []).append(q)
    batches: list[dict[str, Any]] = []  # per query kind and length: tensors on the device
    for n, group in groups.items():
        flat = [s for q in group for s in q.segments]
        states, mask = _pad(flat, length, dim)
        entry: dict[str, Any] = {
            "states": torch.as_tensor(states.reshape(len(group), n, length, dim), device=device),
            "mask": torch.as_tensor(mask.reshape(len(group), n, length), device=device),
            "kind": "pair" if group[0].kind == "pair" else "ranking",
        }
        if entry["kind"] == "pair":
            eps = config.label_smoothing
            targets = np.array([PAIR_TARGETS[q.answer] for q in group], np.float32)
            entry["targets"] = torch.as_tensor(targets * (1 - eps) + 0.5 * eps, device=device)
        else:
            entry["orders"] = torch.as_tensor(np.array([q.answer for q in group]), device=device)
        members = config.members
        weights = rng.poisson(1.0, size=(members, len(group))) if config.bootstrap else np.ones(
            (members, len(group)))
        entry["weights"] = torch.as_tensor(weights, dtype=torch.float32, device=device)
        batches.append(entry)

    generator = torch.Generator(device=device).manual_seed(config.seed)
    optimiser = torch.optim.AdamW(model.net.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    model.net.train()
    for epoch in range(config.epochs):
        total, count = 0.0, 0
        for entry in batches:
            size = len(entry["states"])
            for start in range(0, size, config.batch_size):
                idx = slice(start, start + config.batch_size)
                counted = entry["mask"][idx]  # the steps each segment's return sums
                if config.crop < 1.0:
                    counted = _cropped(counted, config.crop, generator)
                returns = _segment_returns(model, entry["states"][idx], counted)
                weights = entry["weights"][:, idx]
                if entry["kind"] == "pair":
                    logits = returns[..., 0] - returns[..., 1]
                    targets = entry["targets"][idx].expand_as(logits)
                    losses = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
                else:
                    ordered = torch.gather(
                        returns, 2, entry["orders"][idx].unsqueeze(0).expand_as(returns))
                    # log P(order) = sum_i R_i - logsumexp(R_i..R_n): reverse cumulative LSE.
                    tail_lse = torch.logcumsumexp(ordered.flip(-1), -1).flip(-1)
                    losses = -(ordered - tail_lse)[..., :-1].sum(-1)
                loss = (losses * weights).sum() / weights.sum().clamp(min=1.0)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * size
                count += size
        if on_epoch is not None and on_epoch(epoch, total / max(count, 1)) is False:
            break
    model.net.eval()
    rewards = model.reward(all_states)
    model.reward_mean, model.reward_std = float(rewards.mean()), float(rewards.std() + 1e-6)
    return model


def preference_accuracy(model: Any, queries: Sequence[LabelledQuery]) -> float:
    """Fraction of strict pair labels (left/right) the model's segment returns agree with;
    ``model`` is any reward with ``reward(states)`` (a preference ensemble, reward code)."""
    hits = []
    for q in queries:
        if q.kind != "pair" or q.answer not in ("left", "right"):
            continue
        left, right = (float(model.reward(s).sum()) for s in q.segments)
        hits.append((left > right) == (q.answer == "left"))
    if not hits:
        raise ValueError("no strict pair labels to score")
    return float(np.mean(hits))
