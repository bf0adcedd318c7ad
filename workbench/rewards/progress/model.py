"""A state-based progress model: normalise, MLP, sigmoid -> progress in [0, 1] per frame."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench import config as cfg
from workbench.rewards.artifact import (
    ArtifactError,
    load_weights,
    pick_device,
    read_header,
    save_artifact,
)
from workbench.rewards.progress.config import ProgressConfig


class ProgressNet(nn.Module):
    def __init__(self, input_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("std", torch.ones(input_dim))
        layers: list[nn.Module] = []
        last = input_dim
        for width in hidden:
            layers += [nn.Linear(last, width), nn.SiLU()]
            last = width
        layers.append(nn.Linear(last, 1))
        self.body = nn.Sequential(*layers)

    def logits(self, states: torch.Tensor) -> torch.Tensor:
        return self.body((states - self.mean) / self.std).squeeze(-1)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(states))


class ProgressRewardModel:
    """Maps a batch of state observations to progress in [0, 1].

    Example:
        >>> model = fit_progress(workspace, "Push")
        >>> model.progress(np.zeros((5, model.input_dim), np.float32)).shape
        (5,)
    """

    family = "progress"

    def __init__(
        self,
        input_dim: int,
        features: dict[str, int],
        scene: str,
        config: ProgressConfig = ProgressConfig(),
        device: str = "auto",
    ):
        if sum(features.values()) != input_dim:
            raise ValueError(f"features {features} do not add up to input_dim {input_dim}")
        self.input_dim = input_dim
        self.features = dict(features)
        self.scene = scene
        self.config = config
        self.device = pick_device(device)
        self.net = ProgressNet(input_dim, config.hidden).to(self.device)
        self.metrics: dict[str, Any] = {}

    def set_normalisation(self, states: np.ndarray) -> None:
        mean = states.mean(axis=0)
        std = states.std(axis=0) + 1e-3
        self.net.mean.copy_(torch.as_tensor(mean, device=self.device))
        self.net.std.copy_(torch.as_tensor(std, device=self.device))

    def check_features(self, features: dict[str, int]) -> None:
        if dict(features) != self.features:
            raise ArtifactError(
                f"this reward model was fitted on {self.scene} observations {self.features}, "
                f"but is being applied to {features}; fit one for this scene and observation mode"
            )

    @torch.no_grad()
    def progress(self, states: np.ndarray | torch.Tensor) -> np.ndarray:
        """Progress in [0, 1] for a batch (N, input_dim) of states; one batched forward pass."""
        tensor = torch.as_tensor(states, dtype=torch.float32, device=self.device)
        if tensor.ndim != 2 or tensor.shape[1] != self.input_dim:
            raise ValueError(
                f"states must be (N, {self.input_dim}); got {tuple(tensor.shape)}"
            )
        self.net.eval()
        return self.net(tensor).cpu().numpy()

    def score(self, states: np.ndarray) -> np.ndarray:
        """The per-state signal the RL reward wrapper uses: progress itself."""
        return self.progress(states)

    # -- artifacts ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        header = {
            "family": self.family,
            "scene": self.scene,
            "input_dim": self.input_dim,
            "features": self.features,
            "config": cfg.to_dict(self.config),
            "metrics": self.metrics,
        }
        return save_artifact(Path(path), header, self.net)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> ProgressRewardModel:
        header = read_header(Path(path))
        if header.get("family") != cls.family:
            raise ArtifactError(f"{path} holds a {header.get('family')!r} model, not progress")
        try:
            config = cfg.from_dict(ProgressConfig, header["config"])
            model = cls(header["input_dim"], header["features"], header["scene"], config, device)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{path}/config.json is incomplete or invalid: {exc}") from exc
        load_weights(Path(path), model.net)
        model.metrics = header.get("metrics", {})
        return model

    def describe(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "scene": self.scene,
            "features": self.features,
            "config": dataclasses.asdict(self.config),
            "metrics": self.metrics,
        }
