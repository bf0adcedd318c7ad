"""A state-based progress model: normalise, MLP, sigmoid -> progress in [0, 1] per frame; or,
with ``config.kernel``, kernel regression over the fitted states."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.rewards.base import StateRewardModel
from workbench.rewards.progress.config import ProgressConfig

KERNEL_FRAMES = 8192  # the most fitted states a kernel model keeps (evenly thinned)
_CHUNK = 1024  # states per distance computation


class ProgressNet(nn.Module):
    mean: torch.Tensor  # a buffer: saved with the weights, not trained
    std: torch.Tensor

    def __init__(self, input_dim: int, hidden: tuple[int, ...], outputs: int = 1):
        super().__init__()
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("std", torch.ones(input_dim))
        layers: list[nn.Module] = []
        last = input_dim
        for width in hidden:
            layers += [nn.Linear(last, width), nn.SiLU()]
            last = width
        layers.append(nn.Linear(last, outputs))
        self.body = nn.Sequential(*layers)

    def logits(self, states: torch.Tensor) -> torch.Tensor:
        return self.body((states - self.mean) / self.std).squeeze(-1)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(states))


class KernelProgressNet(nn.Module):
    """Progress as kernel regression over the fitted states (Nadaraya-Watson): the weighted
    mean of their targets, each weighted by a gaussian of its distance (normalised inputs).

    A prior of one state of progress 0 at two widths pulls it to 0 where no fitted state is
    near, so unlike an MLP it cannot extrapolate upwards where the demos never went; and its
    slope near the goal is set by the width, not by how far a sigmoid has saturated (an MLP
    from 5 Reach demos paid 0.97 at 2 cm, the success radius, against 0.997 on target).
    """

    mean: torch.Tensor  # buffers: saved with the weights, not trained
    std: torch.Tensor
    states: torch.Tensor  # (M, d) fitted states, normalised
    targets: torch.Tensor  # (M,) their progress targets
    weights: torch.Tensor  # (M,) how much each counts (a failed take's: negative_weight)

    PRIOR = math.exp(-0.5 * 2.0**2)

    def __init__(self, input_dim: int, width: float, frames: int = 0):
        super().__init__()
        self.width = width
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("std", torch.ones(input_dim))
        self.register_buffer("states", torch.zeros(frames, input_dim))
        self.register_buffer("targets", torch.zeros(frames))
        self.register_buffer("weights", torch.zeros(frames))

    def remember(self, states: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor
                 ) -> None:
        """Keep the fitted states (raw; at most KERNEL_FRAMES, evenly thinned)."""
        if len(states) > KERNEL_FRAMES:
            keep = torch.linspace(0, len(states) - 1, KERNEL_FRAMES).round().long()
            states, targets, weights = states[keep], targets[keep], weights[keep]
        self.states = self.normalise(states)
        self.targets, self.weights = targets, weights

    def normalise(self, states: torch.Tensor) -> torch.Tensor:
        return (states - self.mean) / self.std

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        out = []
        # In chunks: memory bounded at _CHUNK x KERNEL_FRAMES distances.
        for chunk in self.normalise(states).split(_CHUNK):
            k = torch.exp(-0.5 * (torch.cdist(chunk, self.states) / self.width) ** 2)
            k = k * self.weights
            out.append((k @ self.targets) / (k.sum(dim=1) + self.PRIOR))
        return torch.cat(out)


class ProgressRewardModel(StateRewardModel):
    """Maps a batch of state observations to progress in [0, 1].

    Example:
        >>> model = fit_progress(demos, "Push", env.features)
        >>> model.progress(np.zeros((5, model.input_dim), np.float32)).shape
        (5,)
    """

    family = "progress"
    config_class = ProgressConfig

    def __init__(self, input_dim: int, features: dict[str, int], scene: str,
                 config: ProgressConfig = ProgressConfig(), device: str = "auto"):
        super().__init__(input_dim, features, scene, config, device)

    def _build_net(self) -> nn.Module:
        if self.config.kernel > 0:
            return KernelProgressNet(self.input_dim, self.config.kernel)
        return ProgressNet(self.input_dim, self.config.hidden)

    def _extra_header(self) -> dict[str, Any]:
        return {"kernel_frames": len(self.net.states)} if self.config.kernel > 0 else {}

    def _load_extra(self, header: dict[str, Any]) -> None:
        if self.config.kernel > 0:  # the buffers' size, before the weights fill them
            frames = header.get("kernel_frames")
            if type(frames) is not int or not 1 <= frames <= KERNEL_FRAMES:
                raise ValueError(f"kernel_frames {frames!r} is not a count of 1 to "
                                 f"{KERNEL_FRAMES}")
            self.net = KernelProgressNet(self.input_dim, self.config.kernel, frames).to(
                self.device)

    @torch.no_grad()
    def progress(self, states: np.ndarray | torch.Tensor) -> np.ndarray:
        """Progress in [0, 1] for a batch (N, input_dim) of states; one batched forward pass."""
        return self.net(self._tensor(states)).cpu().numpy()

    def score(self, states: np.ndarray) -> np.ndarray:
        """The per-state signal the RL reward wrapper uses: progress itself."""
        return self.progress(states)
