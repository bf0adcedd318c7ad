"""Exact checkpoints of a training run, with no pickles: a killed run, resumed, gives bit for bit
the result of a run that was never interrupted (same seed, CPU, one torch thread).

A checkpoint is one safetensors file. Its arrays (policy and optimiser tensors, the random
generators' states, the envs' physics snapshots, buffers) are the file's tensors; everything
else (counters, the config, the structure around the arrays) is JSON in the file's metadata,
with a SHA-256 over both. Loading runs no code from the file: safetensors reads raw arrays and
JSON decodes plain values, so a planted payload stays data.

The state comes from the objects themselves as trees of plain values and arrays, through
``get_state``/``set_state``: the learner's parts, every layer of every environment (the
workbench env, our wrappers, and the gymnasium wrappers and envs listed in ``_GYM_STATE``) and
every stateful callback. A layer that carries state the checkpoint cannot see is refused when
the first checkpoint is written, never skipped. Files are written to a temporary name and
renamed, so a kill during a write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.envs.classic_control import Continuous_MountainCarEnv, PendulumEnv
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

FORMAT = "workbench-checkpoint/1"
CHECKPOINT = "checkpoint.safetensors"  # in a run folder
_LEGACY = "checkpoint.pt"  # pickled, from before: never loaded

# The state gymnasium's own wrappers, and the classic-control envs the tests and benchmarks
# train on, keep between steps (beside an env's generator, saved for every env).
_GYM_STATE: dict[type, tuple[str, ...]] = {
    OrderEnforcing: ("_has_reset",),
    TimeLimit: ("_elapsed_steps",),
    PassiveEnvChecker: ("checked_reset", "checked_step", "checked_render"),
    PendulumEnv: ("state", "last_u"),
    Continuous_MountainCarEnv: ("state",),
}


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, not ours, or does not fit the run resuming from it."""


# -- a tree of plain values and arrays <-> JSON + arrays --------------------------------------
def _encode(value: Any, arrays: list[np.ndarray]) -> Any:
    def keep(array: np.ndarray) -> int:
        if array.dtype.hasobject or array.dtype.kind not in "biufc":
            raise TypeError(f"cannot checkpoint an array of {array.dtype}")
        arrays.append(np.ascontiguousarray(array))
        return len(arrays) - 1

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):  # before float: np.float64 is a float
        return {"$scalar": keep(np.asarray(value))}
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    # safetensors stores a 0-d array as shape (1,): the tag keeps the difference.
    if isinstance(value, torch.Tensor):
        return {"$tensor0" if value.ndim == 0 else "$tensor": keep(value.detach().cpu().numpy())}
    if isinstance(value, np.ndarray):
        return {"$array0" if value.ndim == 0 else "$array": keep(value)}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"$dict": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
    raise TypeError(f"cannot checkpoint a {type(value).__name__}: a state is plain values, "
                    "lists, tuples, dicts and arrays")


_ARRAY_TAGS = ("$array", "$array0", "$tensor", "$tensor0", "$scalar")
_NON_FINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def _decode(node: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) != 1:
        raise CheckpointError(f"unknown node {sorted(node)!r}")
    (tag, body), = node.items()
    if tag in _ARRAY_TAGS:
        if type(body) is not int or not 0 <= body < len(arrays):
            raise CheckpointError(f"{tag} names array {body!r}, which is not in the file")
        array = arrays[body]
        if tag in ("$array0", "$tensor0", "$scalar"):
            if array.size != 1:
                raise CheckpointError(f"{tag} names array {body}, which is not one value")
            array = array.reshape(())
        if tag == "$scalar":
            return array[()]
        return torch.from_numpy(array) if tag.startswith("$tensor") else array
    if tag == "$tuple" and isinstance(body, list):
        return tuple(_decode(v, arrays) for v in body)
    if tag == "$dict" and isinstance(body, list) and all(
            isinstance(p, list) and len(p) == 2 for p in body):
        items = [(_decode(k, arrays), _decode(v, arrays)) for k, v in body]
        if not all(isinstance(k, (str, int, float, bool, tuple)) or k is None for k, _ in items):
            raise CheckpointError("a dict key is not a plain value")
        return dict(items)
    if tag == "$float" and body in _NON_FINITE:
        return _NON_FINITE[body]
    raise CheckpointError(f"unknown node {tag!r}")


def _digest(tree_json: str, arrays: list[np.ndarray]) -> str:
    digest = hashlib.sha256(tree_json.encode())
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: list[np.ndarray] = []
    tree = json.dumps(_encode(state, arrays), allow_nan=False, separators=(",", ":"))
    tmp = path.with_name(path.name + ".tmp")
    save_file({str(i): a for i, a in enumerate(arrays)}, str(tmp),
              metadata={"format": FORMAT, "tree": tree, "sha256": _digest(tree, arrays)})
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The state ``save_checkpoint`` wrote; :class:`CheckpointError` for anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="np") as handle:
            meta = handle.metadata() or {}
            arrays = [handle.get_tensor(str(i)).copy() for i in range(len(handle.keys()))]
    except (SafetensorError, OSError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint ({exc}); start a new run"
                              ) from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a workbench checkpoint ({FORMAT})")
    tree = meta.get("tree", "")
    if _digest(tree, arrays) != meta.get("sha256"):
        raise CheckpointError(f"{path} does not match its checksum: the file changed after it "
                              "was written; start a new run or restore the file")
    try:
        state = _decode(json.loads(tree), arrays)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{path} holds an unreadable state ({exc})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds no run state")
    return state


def run_checkpoint(run_dir: str | Path) -> Path:
    """The checkpoint of a run folder, refusing the pickled kind older versions wrote."""
    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINT).exists() and (run_dir / _LEGACY).exists():
        raise CheckpointError(f"{run_dir / _LEGACY} was written by an older workbench as a "
                              "pickle, which is never loaded (it could run code); start a new run")
    return run_dir / CHECKPOINT


def stored_updates(run_dir: str | Path) -> int:
    """How many updates (PPO) or log intervals (SAC) a run folder's ``metrics.jsonl`` holds;
    its event lines (a lost node, take-over steps) are not counted."""
    log = Path(run_dir) / "metrics.jsonl"
    if not log.is_file():
        return 0
    return sum(1 for line in log.read_text().splitlines()
               if line.strip() and '"event"' not in line)


def can_go_on(run_dir: str | Path) -> bool:
    """Whether a resume can go on with a run folder: from its checkpoint, or from the start
    where it stored no update before it ended (starting it over loses nothing, and it keeps
    its folder and its row rather than leaving an empty one behind)."""
    return run_checkpoint(run_dir).exists() or stored_updates(run_dir) == 0


# -- environments -----------------------------------------------------------------------------
def _layers(env: Any) -> list[Any]:
    layers = [env]
    while isinstance(layers[-1], (gym.Wrapper, gym.vector.VectorWrapper)):
        layers.append(layers[-1].env)
    return layers


def _layer_state(layer: Any) -> Any:
    if callable(getattr(type(layer), "get_state", None)):
        return layer.get_state()
    names = _GYM_STATE.get(type(layer))
    if names is not None:
        state = {name: getattr(layer, name) for name in names}
        if not isinstance(layer, gym.Wrapper):
            state["np_random"] = layer.np_random.bit_generator.state
        return state
    if isinstance(layer, gym.vector.VectorEnv) and not isinstance(layer, gym.vector.VectorWrapper):
        return None  # the vector env itself: its observations are saved beside
    raise TypeError(f"{type(layer).__name__} has no get_state/set_state, so an exact checkpoint "
                    "cannot carry its state; give it those or train without checkpoints")


def _set_layer_state(layer: Any, state: Any) -> None:
    if callable(getattr(type(layer), "set_state", None)):
        layer.set_state(state)
    elif type(layer) in _GYM_STATE:
        for name in _GYM_STATE[type(layer)]:
            setattr(layer, name, state[name])
        if "np_random" in state:
            layer.np_random.bit_generator.state = state["np_random"]


def _kinds(env: Any) -> list[str]:
    return [type(layer).__name__ for layer in _layers(env)]


def env_state(envs: gym.vector.VectorEnv) -> dict[str, Any]:
    base = envs.unwrapped
    if _remote(base):  # sub-envs elsewhere (Ray actors) hand over their own state
        return {"kinds": [_kinds(envs)], "vector": [_layer_state(layer) for layer in _layers(envs)]}
    if not isinstance(base, gym.vector.SyncVectorEnv):
        raise TypeError("exact checkpoints need a SyncVectorEnv (each sub-env hands over its "
                        "state)")
    return {
        "kinds": [_kinds(envs), *(_kinds(env) for env in base.envs)],
        "vector": [_layer_state(layer) for layer in _layers(envs)],
        "envs": [[_layer_state(layer) for layer in _layers(env)] for env in base.envs],
        "observations": base._observations,
    }


def _remote(base: Any) -> bool:
    return not isinstance(base, gym.vector.SyncVectorEnv) and callable(
        getattr(type(base), "get_state", None))


def restore_env_state(envs: gym.vector.VectorEnv, state: dict[str, Any]) -> None:
    base = envs.unwrapped
    if _remote(base):
        if state["kinds"] != [_kinds(envs)]:
            raise CheckpointError(f"the checkpoint was written for envs {state['kinds']}; "
                                  f"these are {[_kinds(envs)]}")
        for layer, saved in zip(_layers(envs), state["vector"], strict=True):
            _set_layer_state(layer, saved)
        return
    if not isinstance(base, gym.vector.SyncVectorEnv):
        raise TypeError("exact checkpoints need a SyncVectorEnv")
    kinds = [_kinds(envs), *(_kinds(env) for env in base.envs)]
    if state["kinds"] != kinds:
        raise CheckpointError(f"the checkpoint was written for envs {state['kinds']}; these are "
                              f"{kinds}")
    for layer, saved in zip(_layers(envs), state["vector"], strict=True):
        _set_layer_state(layer, saved)
    for env, saved_layers in zip(base.envs, state["envs"], strict=True):
        for layer, saved in zip(_layers(env), saved_layers, strict=True):
            _set_layer_state(layer, saved)
    base._observations = state["observations"]
