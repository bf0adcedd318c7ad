"""An ensemble of per-state reward networks, evaluated as one batched module.

All members share one forward pass: their weights are stacked and applied with ``torch.bmm``,
so K members cost about as much as one on small inputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.config import ConfigError
from workbench.rewards.base import StateRewardModel
from workbench.rewards.preference.config import PreferenceConfig
from workbench.sim.mirror import Mirror


def check_mirror(config: PreferenceConfig, input_dim: int) -> None:
    """Refuse a mirror (one sign per input, and an arrangement of them) that does not fit
    ``input_dim`` inputs."""
    mirror, order = config.mirror, config.mirror_order
    if order and not mirror:
        raise ConfigError("mirror_order needs mirror: give one sign (1 or -1) per input too")
    if mirror and len(mirror) != input_dim:
        raise ConfigError(f"mirror has {len(mirror)} signs, but the observations have "
                          f"{input_dim} inputs: give one sign (1 or -1) per input")
    if order and sorted(order) != list(range(input_dim)):
        shown = ",".join(map(str, order[:8])) + (",..." if len(order) > 8 else "")
        raise ConfigError(f"mirror_order must name each input 0..{input_dim - 1} once, got "
                          f"{len(order)} entries ({shown})")


class EnsembleMLP(nn.Module):
    """K independent MLPs ``R^d -> R`` with stacked weights; with ``mirror`` each member is the
    mean of its MLP at a state and at its mirror image, so a state and its mirror image earn the
    same by construction."""

    mean: torch.Tensor  # a buffer: saved with the weights, not trained
    std: torch.Tensor
    mirror: torch.Tensor | None  # buffers, not saved: the config declares them
    mirror_order: torch.Tensor | None

    def __init__(self, members: int, input_dim: int, hidden: tuple[int, ...],
                 mirror: Mirror | None = None):
        super().__init__()
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("std", torch.ones(input_dim))
        self.register_buffer("mirror", torch.tensor(mirror.signs, dtype=torch.float32)
                             if mirror is not None else None, persistent=False)
        self.register_buffer("mirror_order", torch.tensor(mirror.order, dtype=torch.long)
                             if mirror is not None and mirror.order else None, persistent=False)
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
        if self.mirror is None:
            return self._members(states)
        reordered = states if self.mirror_order is None else states[:, self.mirror_order]
        mirrored = reordered * self.mirror
        return 0.5 * (self._members(states) + self._members(mirrored))

    def _members(self, states: torch.Tensor) -> torch.Tensor:
        x = ((states - self.mean) / self.std).unsqueeze(0).expand(len(self.weights[0]), -1, -1)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < len(self.weights) - 1:
                x = torch.nn.functional.silu(x)
        return x.squeeze(-1)


class PreferenceRewardModel(StateRewardModel):
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
    config_class = PreferenceConfig

    def __init__(self, input_dim: int, features: dict[str, int], scene: str,
                 config: PreferenceConfig = PreferenceConfig(), device: str = "auto"):
        super().__init__(input_dim, features, scene, config, device)
        self.reward_mean, self.reward_std = 0.0, 1.0
        self.pessimism = 0.0

    def _build_net(self) -> EnsembleMLP:
        check_mirror(self.config, self.input_dim)
        mirror = (Mirror(self.config.mirror, self.config.mirror_order) if self.config.mirror
                  else None)
        return EnsembleMLP(self.config.members, self.input_dim, self.config.hidden, mirror)

    @torch.no_grad()
    def member_rewards(self, states: np.ndarray) -> np.ndarray:
        """(K, N): each member's reward for each state."""
        return self.net(self._tensor(states)).cpu().numpy()

    def reward(self, states: np.ndarray) -> np.ndarray:
        return self.member_rewards(states).mean(axis=0)

    def disagreement(self, states: np.ndarray) -> np.ndarray:
        return self.member_rewards(states).std(axis=0)

    def score(self, states: np.ndarray) -> np.ndarray:
        members = (self.member_rewards(states) - self.reward_mean) / self.reward_std
        return members.mean(axis=0) - self.pessimism * members.std(axis=0)

    def _extra_header(self) -> dict[str, Any]:
        return {"reward_mean": self.reward_mean, "reward_std": self.reward_std,
                "pessimism": self.pessimism}

    def _load_extra(self, header: dict[str, Any]) -> None:
        self.reward_mean = float(header["reward_mean"])
        self.reward_std = float(header["reward_std"])
        self.pessimism = float(header.get("pessimism", 0.0))
