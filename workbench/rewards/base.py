"""What every reward model over state vectors shares: declared input features, a device,
input normalisation, batched evaluation and the ``config.json`` + safetensors artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from workbench import config as cfg
from workbench.rewards.artifact import (
    ArtifactError,
    load_weights,
    read_header,
    save_artifact,
)
from workbench.rewards.device import pick_device


def check_inputs(features: dict[str, int], inputs: tuple[str, ...]) -> None:
    """Refuse ``inputs`` that name no observation feature of ``features``."""
    unknown = [name for name in inputs if name not in features]
    if unknown:
        raise ValueError(f"inputs {unknown} are not observation features of this scene; "
                         f"choose from {', '.join(features)}")


def _hidden_columns(features: dict[str, int], inputs: tuple[str, ...]) -> np.ndarray:
    """Indices of the state columns outside the named ``inputs`` (none when inputs is empty)."""
    check_inputs(features, inputs)
    hidden: list[int] = []
    start = 0
    for name, size in features.items():
        if inputs and name not in inputs:
            hidden.extend(range(start, start + size))
        start += size
    return np.array(hidden, dtype=int)


class StateRewardModel:
    """Base class: subclasses set ``family`` and ``config_class`` and build ``net``, a module with
    ``mean``/``std`` input buffers; they may add header fields with ``_extra_header``."""

    family: ClassVar[str]
    config_class: ClassVar[type]
    cameras: tuple[str, ...] = ()  # scores state vectors, no frames
    net: Any  # the family's torch module (its own class: logits, mean/std buffers)

    def __init__(self, input_dim: int, features: dict[str, int], scene: str, config: Any,
                 device: str = "auto"):
        if sum(features.values()) != input_dim:
            raise ValueError(f"features {features} do not add up to input_dim {input_dim}")
        self.input_dim = input_dim
        self.features = dict(features)
        self.scene = scene
        self.config = config
        self.device = pick_device(device)
        self.hidden_columns = _hidden_columns(features, getattr(config, "inputs", ()))
        self.net = self._build_net().to(self.device)
        self.metrics: dict[str, Any] = {}

    def _build_net(self) -> nn.Module:
        raise NotImplementedError

    def set_normalisation(self, states: np.ndarray) -> None:
        mean, std = states.mean(axis=0), states.std(axis=0) + 1e-3
        # Features the reward may not see get an infinite scale: they normalise to exactly 0,
        # in fitting and in every later use, with no change to the network or the artifact.
        mean[self.hidden_columns], std[self.hidden_columns] = 0.0, np.inf
        self.net.mean.copy_(torch.as_tensor(mean, device=self.device))
        self.net.std.copy_(torch.as_tensor(std, device=self.device))

    def check_features(self, features: dict[str, int]) -> None:
        if dict(features) != self.features:
            raise ArtifactError(
                f"this reward model was fitted on {self.scene} observations {self.features}, "
                f"but is being applied to {features}; fit one for this scene and observation mode"
            )

    def _tensor(self, states: np.ndarray | torch.Tensor) -> torch.Tensor:
        tensor = torch.as_tensor(states, dtype=torch.float32, device=self.device)
        if tensor.ndim != 2 or tensor.shape[1] != self.input_dim:
            raise ValueError(f"states must be (N, {self.input_dim}); got {tuple(tensor.shape)}")
        self.net.eval()
        return tensor

    def score(self, states: np.ndarray) -> np.ndarray:
        """The per-state signal the RL reward wrapper turns into rewards."""
        raise NotImplementedError

    def progress_episode(self, episode) -> np.ndarray:
        """The signal along a recorded episode's states."""
        return self.score(episode["state"])

    # -- artifacts ---------------------------------------------------------------------------
    def _extra_header(self) -> dict[str, Any]:
        return {}

    def _load_extra(self, header: dict[str, Any]) -> None:
        pass

    def header(self) -> dict[str, Any]:
        """What ``config.json`` says of the model (beside its weights)."""
        return {
            "family": self.family,
            "scene": self.scene,
            "input_dim": self.input_dim,
            "features": self.features,
            "config": cfg.to_dict(self.config),
            "metrics": self.metrics,
            **self._extra_header(),
        }

    def save(self, path: str | Path) -> Path:
        return save_artifact(Path(path), self.header(), self.net)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto"):
        header = read_header(Path(path))
        model = cls._from_header(header, device, f"{path}/config.json")
        load_weights(Path(path), model.net, header)
        return model

    # A training checkpoint carries a model refitted during the run as plain values and arrays.
    def get_state(self) -> dict[str, Any]:
        return {"header": self.header(),
                "weights": {k: v.detach().cpu() for k, v in self.net.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any], device: str = "auto"):
        model = cls._from_header(state["header"], device, "the checkpoint's reward model")
        model.net.load_state_dict(state["weights"], strict=True)
        return model

    @classmethod
    def _from_header(cls, header: dict[str, Any], device: str, where: str):
        if header.get("family") != cls.family:
            raise ArtifactError(
                f"{where} holds a {header.get('family')!r} model, not {cls.family}")
        try:
            features, scene = header["features"], header["scene"]
            if not (isinstance(features, dict) and isinstance(scene, str) and all(
                    isinstance(n, str) and type(k) is int and k > 0 for n, k in features.items())):
                raise ValueError("features must map names to sizes and scene must be a name")
            config: Any = cfg.from_dict(cls.config_class, header["config"])
            model = cls(header["input_dim"], features, scene, config, device)
            model._load_extra(header)
        except Exception as exc:  # a file from anywhere: whatever is wrong, say where
            raise ArtifactError(f"{where} is incomplete or invalid: {exc}") from exc
        model.metrics = header.get("metrics", {})
        return model
