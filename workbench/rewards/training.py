"""The minibatch loop every reward family fits with (progress, staged, perceptual,
vision-language): shuffled minibatches, one optimiser step each, an ``on_epoch`` callback that
may stop early. Only the loss differs between families."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def fit_minibatches(
    net: nn.Module,
    optimiser: torch.optim.Optimizer,
    samples: int,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
    on_epoch: Callable[[int, float], bool | None] | None = None,
    device: torch.device | None = None,
) -> None:
    """``batch_loss(indices)`` is the loss of one minibatch; ``device`` moves the shuffled
    indices there (for data that lives on it). The net is left in eval mode."""
    net.train()
    for epoch in range(epochs):
        order = torch.randperm(samples, generator=generator)
        if device is not None:
            order = order.to(device)
        total = 0.0
        for start in range(0, samples, batch_size):
            idx = order[start : start + batch_size]
            loss = batch_loss(idx)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
        if on_epoch is not None and on_epoch(epoch, total / samples) is False:
            break
    net.eval()
