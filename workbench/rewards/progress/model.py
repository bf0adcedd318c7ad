"""A state-based progress model: normalise, MLP, sigmoid -> progress in [0, 1] per frame."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from workbench.rewards.base import StateRewardModel
from workbench.rewards.progress.config import ProgressConfig


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

    def _build_net(self) -> ProgressNet:
        return ProgressNet(self.input_dim, self.config.hidden)

    @torch.no_grad()
    def progress(self, states: np.ndarray | torch.Tensor) -> np.ndarray:
        """Progress in [0, 1] for a batch (N, input_dim) of states; one batched forward pass."""
        return self.net(self._tensor(states)).cpu().numpy()

    def score(self, states: np.ndarray) -> np.ndarray:
        """The per-state signal the RL reward wrapper uses: progress itself."""
        return self.progress(states)
