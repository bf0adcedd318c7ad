"""Fit a perceptual progress model from demonstrations' frames (and failed rollouts').

Targets are the state-based family's (normalised time up to first success, discretised); failed
rollouts' last frames are negatives. With one or a few demonstrations the network would
memorise them, so every batch is augmented: random shifts (DrQ's pad-and-crop, the same shift
for every view of a frame) and a per-frame random gain on each colour channel, because object
colours vary between episodes and a single demo shows only one of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from workbench.data.episode import Episode
from workbench.rewards.perceptual.config import PerceptualConfig
from workbench.rewards.perceptual.hindsight import hindsight_frames
from workbench.rewards.perceptual.model import PerceptualProgressModel, to_tensor
from workbench.rewards.perceptual.pretrain import pretrain_encoder
from workbench.rewards.progress.config import ProgressConfig
from workbench.rewards.progress.fit import progress_targets
from workbench.rewards.training import fit_minibatches


def augment(x: torch.Tensor, shift: int, jitter: float, generator: torch.Generator,
            mirror: bool = False) -> torch.Tensor:
    """x: (N, V, 3, H, W) in [0, 1]."""
    n, v, c, h, w = x.shape
    if mirror:
        flip = torch.rand(n, generator=generator) < 0.5
        x = torch.where(flip.view(n, 1, 1, 1, 1), x.flip(-1), x)
    if jitter > 0:
        gains = 1 + jitter * (2 * torch.rand(n, 1, c, 1, 1, generator=generator) - 1)
        x = (x * gains.to(x.device)).clamp_(0, 1)
    if shift > 0:
        flat = F.pad(x.flatten(1, 2), (shift,) * 4, mode="replicate")
        dx = torch.randint(0, 2 * shift + 1, (n,), generator=generator).tolist()
        dy = torch.randint(0, 2 * shift + 1, (n,), generator=generator).tolist()
        x = torch.stack([flat[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
        x = x.view(n, v, c, h, w)
    return x


def balanced_weights(labels: torch.Tensor) -> torch.Tensor:
    """Per-frame weights that balance a success head's two classes (a demo has a few
    succeeded frames, many not yet)."""
    positives = float(labels.sum())
    return torch.where(labels > 0, (len(labels) - positives) / max(positives, 1.0), 1.0)


def fit_perceptual_progress(
    demos: Sequence[Episode],
    scene: str,
    negatives: Sequence[Episode] = (),
    config: PerceptualConfig = PerceptualConfig(),
    on_epoch: Callable[[int, float], bool | None] | None = None,
) -> PerceptualProgressModel:
    """Fit on ``demos`` (one is enough to start); ``on_epoch(epoch, loss)`` may stop it."""
    if not demos:
        raise ValueError("fitting a perceptual progress reward needs at least one demonstration")
    if config.pretrain and config.reference_frame:
        raise ValueError("a pretrained encoder reads the state from each frame alone: set "
                         "reference_frame=False with pretrain > 0")
    torch.manual_seed(config.seed)
    model = PerceptualProgressModel(scene, config, device=config.device)
    trained = model.net.parameters()
    if config.pretrain:  # the encoder learns the scene first, then stays as it is
        model.metrics.update(pretrain_encoder(model.net, scene, config))
        model.net.encoder.requires_grad_(False)
        model.net.probe.requires_grad_(False)
        trained = model.net.fuse.parameters()
    labels = ProgressConfig(bins=config.bins, hold_after_success=config.hold_after_success)
    frames = [model.frames_of(d) for d in demos]
    firsts = [f[0] for f in frames]  # each episode's first frame (the reference_frame option)
    targets = [progress_targets(d, labels) for d in demos]
    weights = [np.ones(len(d), np.float32) for d in demos]
    # The success head's targets: 1 from a demo's first success on, 0 on failed rollouts.
    succeeded = [np.maximum.accumulate(np.asarray(d.get("success", np.zeros(len(d))), bool))
                 .astype(np.float32) for d in demos]
    for episode in negatives:
        whole = model.frames_of(episode)
        # With a success head the time head learns from demos only, and the success head
        # takes every frame of a failed rollout as "not succeeded", not just its end.
        tail = 1.0 if config.success_head else config.negative_tail
        kept = whole[int(len(episode) * (1.0 - tail)) :]
        firsts.append(whole[0])
        frames.append(kept)
        targets.append(np.zeros(len(kept), np.float32))
        weights.append(np.full(len(kept), 0.0 if config.success_head else config.negative_weight,
                               np.float32))
        succeeded.append(np.zeros(len(kept), np.float32))
    if config.hindsight:
        if not config.success_head:
            raise ValueError("hindsight frames train the success head: set success_head=True "
                             "with hindsight > 0")
        rng = np.random.default_rng(config.seed)
        # Failed rollouts too: their states put the hand where no demo went, and the labels
        # come from the moved goal, not from how the rollout ended.
        for episode in (*demos, *negatives):
            # Each re-rendered frame is its own one-frame source with its own first frame.
            shown, starts, reached = hindsight_frames(episode, model.cameras, config.hindsight,
                                                      rng)
            frames.extend(shown[:, None])
            firsts.extend(starts)
            targets.extend(np.zeros((len(shown), 1), np.float32))
            weights.extend(np.zeros((len(shown), 1), np.float32))  # not for the time head
            succeeded.extend(reached[:, None])
    source = torch.as_tensor(np.concatenate([np.full(len(f), i) for i, f in enumerate(frames)]))
    x = to_tensor(np.concatenate(frames), config.image_size, torch.device("cpu"))
    first_frames = to_tensor(np.stack(firsts), config.image_size, torch.device("cpu"))
    y = torch.as_tensor(np.concatenate(targets))
    w = torch.as_tensor(np.concatenate(weights))
    y_success = torch.as_tensor(np.concatenate(succeeded))
    w_success = balanced_weights(y_success)
    device = model.device
    optimiser = torch.optim.AdamW(trained, lr=config.lr,
                                  weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    views = len(model.cameras)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        images = x[idx]
        if config.reference_frame:  # one shift, gain and flip for a frame and its reference
            images = torch.cat([images, first_frames[source[idx]]], dim=1)
        batch = augment(images, config.shift, config.colour_jitter, generator,
                        config.mirror).to(device)
        reference = batch[:, views:] if config.reference_frame else None
        logits = model.net.logits(batch[:, :views], reference)
        weight = w[idx].to(device)
        loss = (F.binary_cross_entropy_with_logits(logits[:, 0], y[idx].to(device),
                                                   reduction="none")
                * weight).sum() / weight.sum().clamp(min=1e-6)
        if config.success_head:
            weight = w_success[idx].to(device)
            loss = loss + (F.binary_cross_entropy_with_logits(
                logits[:, 1], y_success[idx].to(device), reduction="none") * weight
            ).sum() / weight.sum()
        return loss

    # One demo is 60-150 frames, 1-3 minibatches an epoch: more passes, so that it gets as
    # many gradient steps as a handful of demos would.
    epochs = max(config.epochs, math.ceil(config.min_steps / math.ceil(len(x) / config.batch_size)))
    fit_minibatches(model.net, optimiser, len(x), epochs, config.batch_size, generator,
                    batch_loss, on_epoch)
    return model
