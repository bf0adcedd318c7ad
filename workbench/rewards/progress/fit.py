"""Fit a progress model from demonstrations (and failed rollouts as negatives).

Targets are normalised time along each successful demo, ``(t + 1) / (s + 1)`` up to the step
``s`` of its first success and 1 after it, discretised into ``bins`` steps. Frames of failed
rollouts are negatives with target 0 and weight ``negative_weight``: only the last
``negative_tail`` of each, since a failed take often starts like a good one and shows its
failure at the end (pushed past the pad, pushed the wrong way). The loss is binary
cross-entropy against these soft targets. With ``kernel`` the labelled states themselves are
the model (kernel regression, see KernelProgressNet), and nothing is trained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from workbench.data.episode import Episode
from workbench.rewards.progress.config import ProgressConfig
from workbench.rewards.progress.model import ProgressRewardModel
from workbench.rewards.training import fit_minibatches


def progress_targets(episode: Episode, config: ProgressConfig) -> np.ndarray:
    """Per-frame progress labels of one successful demonstration."""
    length = len(episode)
    success = episode.get("success")
    hits = np.flatnonzero(success) if success is not None else np.array([], dtype=int)
    end = int(hits[0]) if (config.hold_after_success and len(hits)) else length - 1
    t = np.arange(length, dtype=np.float32)
    targets = np.minimum((t + 1) / (end + 1), 1.0)
    if config.bins > 0:
        targets = np.round(targets * config.bins) / config.bins
    return targets.astype(np.float32)


def fit_progress(
    demos: Sequence[Episode],
    scene: str,
    features: dict[str, int],
    negatives: Sequence[Episode] = (),
    config: ProgressConfig = ProgressConfig(),
    on_epoch: Callable[[int, float], bool | None] | None = None,
) -> ProgressRewardModel:
    """Fit on ``demos``; ``on_epoch(epoch, loss)`` may return False to stop early.

    Example:
        >>> model = fit_progress([ws.load_episode(i) for i in demo_ids], "Push", env.features)
    """
    if not demos:
        raise ValueError("fitting a progress reward needs at least one demonstration")
    states = [d["state"] for d in demos]
    targets = [progress_targets(d, config) for d in demos]
    weights = [np.ones(len(d), np.float32) for d in demos]
    for episode in negatives:
        tail = episode["state"][int(len(episode) * (1.0 - config.negative_tail)) :]
        states.append(tail)
        targets.append(np.zeros(len(tail), np.float32))
        weights.append(np.full(len(tail), config.negative_weight, np.float32))
    x = np.concatenate(states).astype(np.float32)
    input_dim = sum(features.values())
    if x.shape[1] != input_dim:
        raise ValueError(
            f"episodes have {x.shape[1]}-dim states but the features declare {input_dim}; "
            "were they recorded with another observation setup?"
        )
    y = np.concatenate(targets)
    w = np.concatenate(weights)

    torch.manual_seed(config.seed)
    model = ProgressRewardModel(input_dim, features, scene, config, device=config.device)
    model.set_normalisation(x)
    device = model.device
    xt = torch.as_tensor(x, device=device)
    yt = torch.as_tensor(y, device=device)
    wt = torch.as_tensor(w, device=device)
    if config.kernel > 0:  # nothing to train: the states and targets are the model
        model.net.remember(xt, yt, wt)
        return model
    optimiser = torch.optim.AdamW(
        model.net.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    generator = torch.Generator(device="cpu").manual_seed(config.seed)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        logits = model.net.logits(xt[idx])
        return (F.binary_cross_entropy_with_logits(logits, yt[idx], reduction="none")
                * wt[idx]).sum() / wt[idx].sum()

    fit_minibatches(model.net, optimiser, len(xt), config.epochs, config.batch_size, generator,
                    batch_loss, on_epoch, device)
    return model
