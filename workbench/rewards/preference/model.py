"""An ensemble of per-state reward networks, evaluated as one batched module.

All members share one forward pass: their weights are stacked and applied with ``torch.bmm``,
so K members cost about as much as one on small inputs.
"""

from __future__ import annotations

import math
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
from workbench.rewards.preference.config import PreferenceConfig


class EnsembleMLP(nn.Module):
    """K independent MLPs ``R^d -> R`` with stacked weights."""

    def __init__(self, members: int, input_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("std", torch.ones(input_dim))
        sizes = [input_dim, *hidden, 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(nn.Parameter(torch.empty(members, fan_in, fan_out).uniform_(
                -bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, fan_out).uniform_(
                -bound, bound)))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """(N, d) -> (K, N) rewards, one row per member."""
        x = ((states - self.mean) / self.std).unsqueeze(0).expand(len(self.weights[0]), -1, -1)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < len(self.weights) - 1:
                x = torch.nn.functional.silu(x)
        return x.squeeze(-1)


class PreferenceRewardModel:
    """Per-state rewards from an ensemble fitted to preferences.

    ``score`` is what the RL reward wrapper uses: the ensemble mean, standardised on the
    training segments, minus ``pessimism`` times the members' spread (conservative where the
    members disagree, i.e. away from the labelled data).

    Example:
        >>> model = fit_preference(queries, "Push", env.features)
        >>> model.reward(states).shape, model.disagreement(states).shape
        ((N,), (N,))
    """

    family = "preference"

    def __init__(
        self,
        input_dim: int,
        features: dict[str, int],
        scene: str,
        config: PreferenceConfig = PreferenceConfig(),
        device: str = "auto",
    ):
        if sum(features.values()) != input_dim:
            raise ValueError(f"features {features} do not add up to input_dim {input_dim}")
        self.input_dim = input_dim
        self.features = dict(features)
        self.scene = scene
        self.config = config
        self.device = pick_device(device)
        self.net = EnsembleMLP(config.members, input_dim, config.hidden).to(self.device)
        self.reward_mean, self.reward_std = 0.0, 1.0
        self.pessimism = 0.0
        self.metrics: dict[str, Any] = {}

    def set_normalisation(self, states: np.ndarray) -> None:
        self.net.mean.copy_(torch.as_tensor(states.mean(axis=0), device=self.device))
        self.net.std.copy_(torch.as_tensor(states.std(axis=0) + 1e-3, device=self.device))

    def check_features(self, features: dict[str, int]) -> None:
        if dict(features) != self.features:
            raise ArtifactError(
                f"this reward model was fitted on {self.scene} observations {self.features}, "
                f"but is being applied to {features}"
            )

    @torch.no_grad()
    def member_rewards(self, states: np.ndarray) -> np.ndarray:
        tensor = torch.as_tensor(states, dtype=torch.float32, device=self.device)
        if tensor.ndim != 2 or tensor.shape[1] != self.input_dim:
            raise ValueError(f"states must be (N, {self.input_dim}); got {tuple(tensor.shape)}")
        self.net.eval()
        return self.net(tensor).cpu().numpy()

    def reward(self, states: np.ndarray) -> np.ndarray:
        return self.member_rewards(states).mean(axis=0)

    def disagreement(self, states: np.ndarray) -> np.ndarray:
        return self.member_rewards(states).std(axis=0)

    def score(self, states: np.ndarray) -> np.ndarray:
        members = (self.member_rewards(states) - self.reward_mean) / self.reward_std
        return members.mean(axis=0) - self.pessimism * members.std(axis=0)

    def save(self, path: str | Path) -> Path:
        header = {
            "family": self.family,
            "scene": self.scene,
            "input_dim": self.input_dim,
            "features": self.features,
            "config": cfg.to_dict(self.config),
            "reward_mean": self.reward_mean,
            "reward_std": self.reward_std,
            "pessimism": self.pessimism,
            "metrics": self.metrics,
        }
        return save_artifact(Path(path), header, self.net)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> PreferenceRewardModel:
        header = read_header(Path(path))
        if header.get("family") != cls.family:
            raise ArtifactError(f"{path} holds a {header.get('family')!r} model, not preference")
        try:
            config = cfg.from_dict(PreferenceConfig, header["config"])
            model = cls(header["input_dim"], header["features"], header["scene"], config, device)
            model.reward_mean = float(header["reward_mean"])
            model.reward_std = float(header["reward_std"])
            model.pessimism = float(header.get("pessimism", 0.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{path}/config.json is incomplete or invalid: {exc}") from exc
        load_weights(Path(path), model.net)
        model.metrics = header.get("metrics", {})
        return model
