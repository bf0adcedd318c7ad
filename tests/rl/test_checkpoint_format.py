"""Checkpoints hold plain values and arrays only: what goes in comes out exactly, anything that
is not such a tree is refused when written, and a file that is not ours, changed or does not fit
the run is one clear error when read."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from workbench.envs import make_env
from workbench.rl import checkpoint
from workbench.rl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from workbench.rl.ppo import PPOConfig, make_vector_env, train_ppo


def test_a_tree_of_plain_values_and_arrays_round_trips_exactly(tmp_path):
    state = {
        "counts": [1, 2**100, -3], "flags": (True, False, None), "name": "run",
        "floats": [0.1, float("inf"), float("-inf")], "nan": float("nan"),
        3: {"int keys": "stay ints"}, "scalar": np.float32(0.25), "i64": np.int64(7),
        "array": np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2],  # not contiguous
        "empty": np.zeros((0, 5), np.float32), "bools": np.array([True, False]),
        "tensor": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "rng": np.random.default_rng(5).bit_generator.state,
        "torch_rng": torch.get_rng_state(),
    }
    back = load_checkpoint(save_checkpoint(tmp_path / "c.safetensors", state))
    assert back.keys() == state.keys()
    assert back["counts"] == [1, 2**100, -3] and back["flags"] == (True, False, None)
    assert back["floats"] == [0.1, float("inf"), float("-inf")] and np.isnan(back["nan"])
    assert back[3] == {"int keys": "stay ints"}
    assert type(back["scalar"]) is np.float32 and back["scalar"] == 0.25
    assert type(back["i64"]) is np.int64 and back["i64"] == 7
    np.testing.assert_array_equal(back["array"], state["array"])
    assert back["empty"].shape == (0, 5) and back["bools"].dtype == bool
    assert isinstance(back["tensor"], torch.Tensor)
    assert torch.equal(back["tensor"], state["tensor"])
    assert back["rng"] == state["rng"] and torch.equal(back["torch_rng"], state["torch_rng"])


@pytest.mark.parametrize("value", [object(), np.array([1, "a"], dtype=object), {1, 2},
                                   lambda: None, b"bytes"])
def test_anything_but_a_plain_tree_is_refused_when_written(tmp_path, value):
    with pytest.raises(TypeError, match="cannot checkpoint"):
        save_checkpoint(tmp_path / "c.safetensors", {"x": value})
    assert not (tmp_path / "c.safetensors").exists()


def _write_raw(path, tree, arrays, digest=None):
    tree_json = json.dumps(tree)
    save_file({str(i): a for i, a in enumerate(arrays)}, str(path), metadata={
        "format": checkpoint.FORMAT, "tree": tree_json,
        "sha256": digest or checkpoint._digest(tree_json, arrays)})
    return path


@pytest.mark.parametrize("tree", [
    {"$dict": [[{"$array": 5}, 1]]},  # names an array that is not there
    {"$array": 0, "$tensor": 0},  # two tags
    {"$object": "os.system"},  # an unknown tag
    {"$dict": [[[1, 2], 3]]},  # a list as a key
    {"$float": "1e309"},  # only nan, inf and -inf are spelled out
    [1, 2, 3],  # not a state at all
])
def test_a_valid_file_with_an_invalid_tree_is_refused(tmp_path, tree):
    path = _write_raw(tmp_path / "c.safetensors", tree, [np.zeros(2)])
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_a_flipped_byte_is_refused_by_the_checksum(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", {"w": np.zeros(64, np.float32)})
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0x40  # inside the array data
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"\x00" * 7, b"{}" * 10, b"\xff" * 64,
                                     b"PK\x03\x04" + b"\x00" * 60])
def test_files_that_are_not_checkpoints_are_refused(tmp_path, content):
    path = tmp_path / "c.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_a_checkpoint_that_does_not_fit_the_run_is_one_clear_error(tmp_path):
    config = PPOConfig(total_steps=256, num_envs=2, rollout_steps=128, seed=1)
    path = tmp_path / "run.safetensors"
    train_ppo(make_vector_env("workbench/Reach-v0", 2), config, checkpoint=path)
    with pytest.raises(CheckpointError, match="does not fit this run"):  # another scene's envs
        train_ppo(make_vector_env("workbench/Push-v0", 2), config, checkpoint=path, resume=True)
    state = load_checkpoint(path)
    for key, wrong in [("policy", {"not": torch.zeros(1)}), ("rng", {"state": 1}),
                       ("envs", {"kinds": []}), ("obs_rms", None),
                       # an integer numpy cannot hold (OverflowError, not a ValueError)
                       ("rng", {**state["rng"], "has_uint32": 2**70})]:
        # a valid file, checksum and all, holding something that is not this run's
        save_checkpoint(path, {**state, key: wrong})
        with pytest.raises(CheckpointError):
            train_ppo(make_vector_env("workbench/Reach-v0", 2), config, checkpoint=path,
                      resume=True)
    save_checkpoint(path, {**state, "config": {**state["config"], "lr": 1.0}})
    with pytest.raises(CheckpointError, match="another config"):
        train_ppo(make_vector_env("workbench/Reach-v0", 2), config, checkpoint=path, resume=True)
    save_checkpoint(path, {**state, "config": "not a config"})
    with pytest.raises(CheckpointError, match="another config"):
        train_ppo(make_vector_env("workbench/Reach-v0", 2), config, checkpoint=path, resume=True)


def test_a_checkpoint_from_before_a_config_field_existed_resumes_with_its_default(tmp_path):
    """Fields added to PPOConfig later (the activation, value clipping) default to what runs
    did before them, so a run checkpointed by an older version resumes."""
    base = PPOConfig(total_steps=256, num_envs=2, rollout_steps=64, seed=1)
    path = tmp_path / "run.safetensors"
    train_ppo(make_vector_env("Pendulum-v1", 2), base, checkpoint=path)
    state = load_checkpoint(path)
    older = {k: v for k, v in state["config"].items() if k not in ("activation", "clip_value")}
    save_checkpoint(path, {**state, "config": {**older, "total_steps": 512}})
    longer = PPOConfig(**{**base.__dict__, "total_steps": 512})
    train_ppo(make_vector_env("Pendulum-v1", 2), longer, checkpoint=path, resume=True)
    assert load_checkpoint(path)["update"] == 4
    relu = PPOConfig(**{**longer.__dict__, "activation": "relu"})
    save_checkpoint(path, {**state, "config": {**older, "total_steps": 512}})
    with pytest.raises(CheckpointError, match="another config"):
        train_ppo(make_vector_env("Pendulum-v1", 2), relu, checkpoint=path, resume=True)


def test_the_pickled_checkpoints_of_older_versions_are_never_loaded(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(CheckpointError, match="never loaded"):
        checkpoint.run_checkpoint(tmp_path)


@pytest.mark.parametrize("options", [
    {}, {"randomization": {"mass": 0.2, "friction": 0.2, "action_latency": 2, "obs_noise": 0.01}},
])
def test_an_env_continues_exactly_from_its_state_in_a_fresh_env(options):
    """The episode's variations are drawn again from the generator state they came from; the
    simulator, controller, latency queue and generator continue from where they were."""
    env = make_env("Push", **options)
    env.reset(seed=11)
    rng = np.random.default_rng(0)
    for _ in range(7):
        env.step(rng.uniform(-1, 1, env.action_space.shape))
    env.task.difficulty = 0.5  # a curriculum moved on mid-episode
    state = env.get_state()
    actions = rng.uniform(-1, 1, (10, *env.action_space.shape))
    expected = [env.step(a) for a in actions]

    fresh = make_env("Push", **options)
    fresh.reset(seed=999)  # another episode entirely
    fresh.set_state(state)
    assert fresh.task.difficulty == 0.5 and fresh.elapsed_steps == 7
    for action, (obs, reward, terminated, truncated, info) in zip(actions, expected, strict=True):
        got = fresh.step(action)
        np.testing.assert_array_equal(got[0], obs)
        assert (got[1], got[2], got[3]) == (reward, terminated, truncated)
        assert got[4]["success"] == info["success"]


def _mutated_trees(tree, rng, count):
    """``count`` copies of a checkpoint's JSON tree, each with one leaf or node replaced."""
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, (*path, i))
        elif isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*path, key))

    walk(tree, ())
    junk = [None, True, -1, 2**70, 1e308, "x", [], {}, {"$array": 999}, {"$tuple": 5},
            {"$dict": [[1]]}, {"$float": "nan"}, [[[]]], {"$scalar": 0}]
    for _ in range(count):
        path = paths[int(rng.integers(1, len(paths)))]
        mutated = json.loads(json.dumps(tree))
        node = mutated
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = junk[int(rng.integers(0, len(junk)))]
        yield mutated


def test_fuzzed_checkpoints_are_refused_cleanly_or_resume(tmp_path):
    """200 byte-level and 150 structural mutations (checksum recomputed, so the loader and
    the resume must catch them): each is a CheckpointError or a run that resumes."""
    config = PPOConfig(total_steps=256, num_envs=2, rollout_steps=128, seed=2)
    path = tmp_path / "run.safetensors"
    train_ppo(make_vector_env("workbench/Reach-v0", 2), config, checkpoint=path)
    original = path.read_bytes()
    rng = np.random.default_rng(17)
    outcomes = {"refused": 0, "resumed": 0}
    for _ in range(200):
        raw = bytearray(original)
        if rng.random() < 0.3:
            raw = raw[: int(rng.integers(0, len(raw)))]
        else:
            for _ in range(int(rng.integers(1, 8))):
                raw[int(rng.integers(0, len(raw)))] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(raw))
        with pytest.raises(CheckpointError):  # the checksum or the parser: never silently read
            load_checkpoint(path)
        outcomes["refused"] += 1
    path.write_bytes(original)
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as handle:
        tree = json.loads(handle.metadata()["tree"])
        arrays = [handle.get_tensor(str(i)) for i in range(len(handle.keys()))]
    for mutated in _mutated_trees(tree, rng, 150):
        _write_raw(path, mutated, arrays)
        try:
            train_ppo(make_vector_env("workbench/Reach-v0", 2), config, checkpoint=path,
                      resume=True)
            outcomes["resumed"] += 1  # e.g. a changed episode counter: still a valid state
        except CheckpointError:
            outcomes["refused"] += 1
    assert outcomes["refused"] >= 300, outcomes
