"""Exact checkpoints of a training run: everything needed so that a killed run, resumed, gives
bit-for-bit the result of a run that was never interrupted (same seed, CPU).

A checkpoint holds the learner (policy, optimiser, normalisers, both random generators) and the
environments themselves: each sub-environment is pickled whole (MuJoCo's model and data pickle,
and so do the gymnasium wrappers and the env's own generator), and vector wrappers that carry
state between steps (the learned-reward wrapper's last potential) hand it over through
``get_state``/``set_state``. Files are written to a temporary name and renamed, so a kill during
a write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch


def _layers(envs: gym.vector.VectorEnv) -> list[Any]:
    layers = [envs]
    while hasattr(layers[-1], "env"):
        layers.append(layers[-1].env)
    return layers


def env_state(envs: gym.vector.VectorEnv) -> bytes:
    base = envs.unwrapped
    if not isinstance(base, gym.vector.SyncVectorEnv):
        raise TypeError("exact checkpoints need a SyncVectorEnv (the sub-envs are pickled)")
    wrappers = [layer.get_state() if hasattr(layer, "get_state") else None
                for layer in _layers(envs)]
    return pickle.dumps({"envs": base.envs, "wrappers": wrappers,
                         "observations": base._observations})


def restore_env_state(envs: gym.vector.VectorEnv, blob: bytes) -> None:
    state = pickle.loads(blob)
    base = envs.unwrapped
    for old in base.envs:
        old.close()
    base.envs = state["envs"]
    base._observations = state["observations"]
    for layer, saved in zip(_layers(envs), state["wrappers"], strict=True):
        if saved is not None:
            layer.set_state(saved)


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, weights_only=False)  # our own file: it holds pickled envs
