"""Fit a stage-aware progress model.

Targets per frame of a demo: (stages done + time within the current stage) / S, so every stage
gets an equal share of progress however long it takes (a long reach no longer dwarfs a short
grasp); the stage heads learn "stage k done" from the cumulative stage labels. Failed rollouts
(with named stages) are labelled with what they did: progress = stages done / S, no credit for
time. With discovered steps failed rollouts have no stage labels; their last half is labelled 0
progress, as in the plain progress family.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from workbench.data.episode import Episode
from workbench.registry import SCENES
from workbench.rewards.staged.config import StagedConfig
from workbench.rewards.staged.labels import discover_steps, stage_times_of
from workbench.rewards.staged.model import StagedProgressModel
from workbench.rewards.training import fit_minibatches


def staged_targets(times: np.ndarray, length: int, credit_time: bool = True):
    """(length,) progress targets and (length, S) stage-done labels from stage times."""
    count = len(times)
    t = np.arange(length)
    done = t[:, None] >= times[None, :]
    k = done.sum(axis=1)
    progress = k.astype(np.float64)
    if credit_time:
        starts = np.concatenate([[-1], times])  # stage k runs from starts[k] to starts[k + 1]
        inside = k < count
        span = np.maximum(starts[k[inside] + 1] - starts[k[inside]], 1)
        progress[inside] += (t[inside] - starts[k[inside]]) / span
    return (progress / count).astype(np.float32), done.astype(np.float32)


def fit_staged(
    demos: Sequence[Episode],
    scene: str,
    features: dict[str, int],
    negatives: Sequence[Episode] = (),
    config: StagedConfig = StagedConfig(),
    on_epoch: Callable[[int, float], bool | None] | None = None,
) -> StagedProgressModel:
    if not demos:
        raise ValueError("fitting a staged progress reward needs at least one demonstration")
    names = config.stages or tuple(SCENES.load(scene).stage_names)
    if config.discover or not names:
        count = config.discover or 3
        names = tuple(f"step {i + 1}" for i in range(count))
        demo_times = discover_steps([d["state"] for d in demos], count)
        negative_times = None
    else:
        demo_times = stage_times_of(demos, names)
        negative_times = stage_times_of(negatives, names)
    config = dataclasses.replace(config, stages=names)

    states, progress, stages, weights, stage_weights = [], [], [], [], []
    for demo, times in zip(demos, demo_times, strict=True):
        y, done = staged_targets(times, len(demo))
        states.append(demo["state"])
        progress.append(y)
        stages.append(done)
        weights.append(np.ones(len(demo), np.float32))
        stage_weights.append(np.ones(len(demo), np.float32))
    for i, episode in enumerate(negatives):
        length = len(episode)
        if negative_times is not None:
            y, done = staged_targets(negative_times[i], length, credit_time=False)
            w_stage = np.full(length, config.negative_weight, np.float32)
        else:  # no labels: the failure shows at the end
            y, done = np.zeros(length, np.float32), np.zeros((length, len(names)), np.float32)
            w_stage = np.zeros(length, np.float32)
        w = np.full(length, config.negative_weight, np.float32)
        if negative_times is None:
            w[: length // 2] = 0.0
        states.append(episode["state"])
        progress.append(y)
        stages.append(done)
        weights.append(w)
        stage_weights.append(w_stage)

    x = np.concatenate(states).astype(np.float32)
    torch.manual_seed(config.seed)
    model = StagedProgressModel(x.shape[1], features, scene, config, device=config.device)
    model.set_normalisation(x)
    device = model.device
    xt, yt = torch.as_tensor(x, device=device), torch.as_tensor(np.concatenate(progress),
                                                                device=device)
    st = torch.as_tensor(np.concatenate(stages), device=device)
    wt = torch.as_tensor(np.concatenate(weights), device=device)
    swt = torch.as_tensor(np.concatenate(stage_weights), device=device)
    optimiser = torch.optim.AdamW(model.net.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        logits = model.net(xt[idx])
        progress_loss = (F.binary_cross_entropy_with_logits(
            logits[:, -1], yt[idx], reduction="none") * wt[idx]).sum() / wt[idx].sum()
        stage_loss = (F.binary_cross_entropy_with_logits(
            logits[:, :-1], st[idx], reduction="none").mean(dim=1) * swt[idx]).sum() / (
            swt[idx].sum().clamp(min=1.0))
        return progress_loss + stage_loss

    fit_minibatches(model.net, optimiser, len(xt), config.epochs, config.batch_size, generator,
                    batch_loss, on_epoch, device)
    return model
