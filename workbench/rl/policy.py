"""The Gaussian MLP policy and its value function, with the observation normaliser inside.

The normaliser's statistics are buffers of the module, so a saved or exported policy takes raw
observations: nothing outside the graph needs to know them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from workbench.checksums import mismatched, sha256

WEIGHTS = "policy.safetensors"
# The hidden layers' activation, by the name configs and policy.json use; numpy's twin of each
# is NumpyActor's.
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}
_NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}


HEAD_GAIN = 0.01  # the actor's output layer, as cleanrl and SB3: first actions near 0


def _mlp(inputs: int, hidden: tuple[int, ...], outputs: int, out_gain: float,
         activation: str, orthogonal: bool = True) -> nn.Sequential:
    """``orthogonal=False`` keeps torch's default (uniform) initialisation, as SB3's
    ``ortho_init=False``."""
    layers: list[nn.Module] = []
    last = inputs
    for width in hidden:
        linear = nn.Linear(last, width)
        if orthogonal:
            nn.init.orthogonal_(linear.weight, np.sqrt(2))
            nn.init.zeros_(linear.bias)
        layers += [linear, ACTIVATIONS[activation]()]
        last = width
    head = nn.Linear(last, outputs)
    if orthogonal:
        nn.init.orthogonal_(head.weight, out_gain)
        nn.init.zeros_(head.bias)
    return nn.Sequential(*layers, head)


class GaussianPolicy(nn.Module):
    """``sde=True``: generalised state-dependent exploration (gSDE, Raffin et al., 2022). The
    noise is a linear function of the actor's last hidden features, eps = phi(s) W, with W drawn
    every few steps: nearby states get similar noise, so exploration is smooth in time instead
    of per-step jitter, and its scale (log_std, one per feature and action) is learned.

    ``squash=True``: the deterministic action is tanh of the mean, as in SAC's squashed
    Gaussian (:meth:`workbench.rl.sac.SACAgent.as_policy`); otherwise the mean clipped to
    [-1, 1]. ``obs_clip``: normalised observations are clipped to [-obs_clip, obs_clip]."""

    obs_mean: torch.Tensor  # a buffer: saved with the weights, not trained
    obs_var: torch.Tensor

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...] = (64, 64),
                 log_std_init: float = -0.5, sde: bool = False, activation: str = "tanh",
                 squash: bool = False, obs_clip: float = 10.0, orthogonal_init: bool = True,
                 head_gain: float = HEAD_GAIN):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                             f"not {activation!r}")
        self.obs_dim, self.act_dim, self.hidden = obs_dim, act_dim, tuple(hidden)
        self.sde, self.activation = sde, activation
        self.squash, self.obs_clip = bool(squash), float(obs_clip)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_var", torch.ones(obs_dim))
        self.actor = _mlp(obs_dim, self.hidden, act_dim, head_gain, activation, orthogonal_init)
        self.critic = _mlp(obs_dim, self.hidden, 1, 1.0, activation, orthogonal_init)
        # The hidden layers, held as a plain tuple so that they are not registered twice.
        self._actor_trunk = tuple(self.actor)[:-1]
        shape = (self.hidden[-1], act_dim) if sde else (act_dim,)
        self.log_std = nn.Parameter(torch.full(shape, float(log_std_init)))

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.clamp((obs - self.obs_mean) / torch.sqrt(self.obs_var + 1e-8),
                           -self.obs_clip, self.obs_clip)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(self.normalize(obs)).squeeze(-1)

    def _features_and_mean(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The actor's last hidden features and its mean, from a normalised observation."""
        features = x
        for layer in self._actor_trunk:  # not self.actor[:-1]: slicing builds a new Sequential
            features = layer(features)
        return features, self.actor[-1](features)

    def _std(self, features: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        if not self.sde:
            return self.log_std.exp().expand_as(mean)
        # eps = phi W with W ~ N(0, sigma^2) elementwise: Var(eps_j) = sum_i phi_i^2 sigma_ij^2.
        variance = features.detach().pow(2) @ self.log_std.exp().pow(2)
        return torch.sqrt(variance + 1e-6)

    def mean_std(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The action distribution's mean and standard deviation (independent per action)."""
        features, mean = self._features_and_mean(self.normalize(obs))
        return mean, self._std(features, mean)

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(*self.mean_std(obs), validate_args=False)

    @torch.no_grad()
    def rollout_step(
        self, obs: torch.Tensor, matrices: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Exploring action, its log-probability and the state's value, in one pass over the
        networks (the rollout's hot path). ``matrices``: the gSDE noise of each env."""
        x = self.normalize(obs)
        features, mean = self._features_and_mean(x)
        std = self._std(features, mean)
        if self.sde:
            if matrices is None:
                raise ValueError("a gSDE policy explores with noise matrices: pass "
                                 "sample_exploration(envs)")
            action = self._sde_action(features, mean, matrices)
        else:
            action = mean + std * torch.randn_like(mean)
        return action, gaussian_log_prob(action, mean, std), self.critic(x).squeeze(-1)

    def sample_exploration(self, envs: int) -> torch.Tensor:
        """gSDE noise matrices W, one (features, actions) matrix per env."""
        std = self.log_std.detach().exp()
        return torch.randn(envs, *std.shape, device=std.device) * std

    def explore(self, obs: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
        """The exploring action mean + phi(s) W for each env's current W (gSDE only)."""
        return self._sde_action(*self._features_and_mean(self.normalize(obs)), matrices)

    @staticmethod
    def _sde_action(features: torch.Tensor, mean: torch.Tensor, matrices: torch.Tensor
                    ) -> torch.Tensor:
        return mean + torch.bmm(features.unsqueeze(1), matrices).squeeze(1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Deterministic action in [-1, 1] from a raw observation (what export runs)."""
        mean = self.actor(self.normalize(obs))
        return torch.tanh(mean) if self.squash else torch.clamp(mean, -1.0, 1.0)

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        tensor = torch.as_tensor(obs, dtype=torch.float32, device=self.obs_mean.device)
        return self(tensor).cpu().numpy()

    def actor_snapshot(self) -> dict[str, Any]:
        """The deterministic actor as arrays, for :class:`NumpyActor` in another process."""
        linears = [layer for layer in self.actor if isinstance(layer, nn.Linear)]
        arrays = lambda tensor: tensor.detach().cpu().numpy().copy()  # noqa: E731
        return {"activation": self.activation, "squash": self.squash, "obs_clip": self.obs_clip,
                "obs_mean": arrays(self.obs_mean), "obs_var": arrays(self.obs_var),
                "weights": [arrays(layer.weight) for layer in linears],
                "biases": [arrays(layer.bias) for layer in linears]}

    def set_obs_stats(self, mean: np.ndarray, var: np.ndarray) -> None:
        self.obs_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.obs_var.copy_(torch.as_tensor(var, dtype=torch.float32))

    def save(self, path: str | Path, meta: dict[str, Any]) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(path / WEIGHTS))
        header = {"obs_dim": self.obs_dim, "act_dim": self.act_dim, "hidden": list(self.hidden),
                  "sde": self.sde, "activation": self.activation, "squash": self.squash,
                  "obs_clip": self.obs_clip,
                  "sha256": {WEIGHTS: sha256(path / WEIGHTS)}}
        (path / "policy.json").write_text(json.dumps({**header, **meta}, indent=1))
        return path


class NumpyActor:
    """:meth:`GaussianPolicy.forward` in numpy from an :meth:`~GaussianPolicy.actor_snapshot`:
    the app's viewport shows a policy while it trains without torch in its per-frame path."""

    def __init__(self, snapshot: dict[str, Any]):
        self.mean, self.var = snapshot["obs_mean"], snapshot["obs_var"]
        self.activation = _NUMPY_ACTIVATIONS[snapshot.get("activation", "tanh")]
        self.squash, self.clip = snapshot.get("squash", False), snapshot.get("obs_clip", 10.0)
        self.layers = list(zip(snapshot["weights"], snapshot["biases"], strict=True))

    def act(self, obs: np.ndarray) -> np.ndarray:
        x = np.clip((obs - self.mean) / np.sqrt(self.var + 1e-8), -self.clip, self.clip)
        for i, (weight, bias) in enumerate(self.layers):
            x = x @ weight.T + bias
            if i < len(self.layers) - 1:
                x = self.activation(x)
        return np.tanh(x) if self.squash else np.clip(x, -1.0, 1.0)


_HALF_LOG_2PI = 0.5 * float(np.log(2 * np.pi))


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Summed over the last axis (torch.distributions.Normal's, without its per-call checks)."""
    return (-((x - mean) ** 2) / (2 * std**2) - std.log() - _HALF_LOG_2PI).sum(-1)


def gaussian_entropy(std: torch.Tensor) -> torch.Tensor:
    return (0.5 + _HALF_LOG_2PI + std.log()).sum(-1)


def load_policy(path: str | Path, device: str = "cpu") -> tuple[GaussianPolicy, dict[str, Any]]:
    """A policy folder ``save`` wrote: ``policy.json`` and the weights it checksums."""
    path = Path(path)
    header_path = path / "policy.json"
    if not header_path.exists():
        raise FileNotFoundError(f"{path} is not a policy checkpoint (no policy.json)")
    try:
        header = json.loads(header_path.read_text())
        sizes = [header["obs_dim"], header["act_dim"], *header["hidden"]]
        if not all(type(n) is int and 1 <= n <= 1 << 20 for n in sizes) or len(sizes) > 18:
            raise ValueError(f"sizes {sizes} are not those of a policy network")
        obs_clip = float(header.get("obs_clip", 10.0))
        if not 0.0 < obs_clip < float("inf"):
            raise ValueError(f"obs_clip {obs_clip} is not a positive number")
        policy = GaussianPolicy(sizes[0], sizes[1], tuple(sizes[2:]),
                                sde=bool(header.get("sde", False)),
                                activation=header.get("activation", "tanh"),
                                squash=bool(header.get("squash", False)),
                                obs_clip=obs_clip)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise ValueError(f"{header_path} is corrupt or incomplete ({exc}); train again") from None
    expected = header.get("sha256")  # absent in policies from before
    if isinstance(expected, dict) and mismatched(path, expected):
        raise ValueError(f"{path / WEIGHTS} does not match the checksum in policy.json: the "
                         "file changed after it was written; train again")
    try:
        policy.load_state_dict(load_file(str(path / WEIGHTS)))
    except Exception as exc:  # safetensors' own errors, or weights of another shape
        raise ValueError(f"{path / WEIGHTS} is corrupt or does not fit policy.json ({exc})"
                         ) from None
    return policy.to(device).eval(), header
