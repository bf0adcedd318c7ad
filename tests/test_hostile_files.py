"""No file is unpickled or executed on load: a pickle payload planted in place of each kind of
file the workbench reads is refused with a clear error, and its code never runs.

The payload creates a marker file when unpickled; each case asserts the marker is absent after
the load was refused. Checksums are removed from the manifests too, so the loader itself (not
only the digest check) is what refuses the planted file."""

from __future__ import annotations

import io
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.data import Workspace
from workbench.data.edit import import_video
from workbench.data.formats.lerobot import export_lerobot, import_lerobot
from workbench.data.formats.robomimic import export_robomimic, import_robomimic
from workbench.data.workspace import DATABASE
from workbench.envs import make_env
from workbench.export.bundle import export_bundle
from workbench.export.runner import OnnxPolicy
from workbench.rewards.artifact import load_reward_model
from workbench.rewards.preference.model import PreferenceRewardModel
from workbench.rl.checkpoint import load_checkpoint, run_checkpoint
from workbench.rl.policy import GaussianPolicy, load_policy
from workbench.teleop.recorder import record_policy_episodes, scripted_policy


class Payload:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):  # what an attacker's file does when unpickled
        return (open, (self.marker, "w"))


def _pickles(marker: Path) -> dict[str, bytes]:
    """The payload as plain pickle, as torch.save writes it, and inside a numpy object array."""
    raw = pickle.dumps(Payload(marker))
    buffer = io.BytesIO()
    torch.save({"state": Payload(marker)}, buffer)
    npy = io.BytesIO()
    np.save(npy, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    return {"pickle": raw, "torch.save": buffer.getvalue(), "npy": npy.getvalue()}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("artifacts")
    with Workspace.open(root / "ws", create=True) as ws:
        env = make_env("Reach")
        (episode_id,) = record_policy_episodes(env, ws, scripted_policy(env, 0), 1, "scripted",
                                               image_cameras=("front",), image_size=32)
        features = env.features
        env.close()
        export_robomimic(ws, root / "demo.hdf5")
        export_lerobot(ws, root / "lerobot")
        episode = ws.load_episode(episode_id).folder
    PreferenceRewardModel(sum(features.values()), features, "Reach", device="cpu").save(
        root / "reward")
    GaussianPolicy(4, 2).save(root / "policy", {})
    export_bundle(GaussianPolicy(4, 2), root / "bundle", {"scene": "Reach"},
                  np.zeros((4, 4), np.float32))
    return {"root": root, "episode": episode, "episode_id": episode_id}


def _drop_digest(path: Path) -> None:
    manifest = json.loads(path.read_text())
    manifest.pop("sha256", None)
    path.write_text(json.dumps(manifest))


def _cases(artifacts, work: Path):
    """(name, file to replace, load) for every kind of file the workbench reads."""
    root = work / "copy"
    shutil.copytree(artifacts["root"], root, ignore=shutil.ignore_patterns("ws"))
    for manifest in ("reward/config.json", "policy/policy.json", "bundle/bundle.json"):
        _drop_digest(root / manifest)
    workspace_copy = work / "ws"
    shutil.copytree(artifacts["root"] / "ws", workspace_copy)
    episode = workspace_copy / artifacts["episode"].relative_to(artifacts["root"] / "ws")
    mp4 = sorted((root / "lerobot" / "videos").rglob("*.mp4"))[0]

    def import_into_fresh(load, target):
        with Workspace.open(work / "fresh", create=True) as ws:
            load(ws, target)

    def episode_initial():
        with Workspace.open(workspace_copy) as ws:
            return ws.load_episode(artifacts["episode_id"]).initial()

    return [
        ("run checkpoint", work / "run" / "checkpoint.safetensors",
         lambda: load_checkpoint(work / "run" / "checkpoint.safetensors")),
        ("legacy checkpoint.pt", work / "legacy" / "checkpoint.pt",
         lambda: load_checkpoint(run_checkpoint(work / "legacy"))),
        ("reward weights", root / "reward" / "model.safetensors",
         lambda: load_reward_model(root / "reward", device="cpu")),
        ("reward config", root / "reward" / "config.json",
         lambda: load_reward_model(root / "reward", device="cpu")),
        ("policy weights", root / "policy" / "policy.safetensors",
         lambda: load_policy(root / "policy")),
        ("bundle model", root / "bundle" / "policy.onnx", lambda: OnnxPolicy(root / "bundle")),
        ("bundle manifest", root / "bundle" / "bundle.json", lambda: OnnxPolicy(root / "bundle")),
        ("episode initial state", episode / "initial.npz", episode_initial),
        ("workspace index", workspace_copy / DATABASE,
         lambda: Workspace.open(workspace_copy).close()),
        ("robomimic file", root / "demo.hdf5",
         lambda: import_into_fresh(import_robomimic, root / "demo.hdf5")),
        ("LeRobot data", sorted((root / "lerobot" / "data").rglob("*.parquet"))[0],
         lambda: import_into_fresh(import_lerobot, root / "lerobot")),
        ("LeRobot video", mp4, lambda: import_into_fresh(import_lerobot, root / "lerobot")),
        ("MP4 demonstration", work / "demo.mp4", lambda: import_into_fresh(
            lambda ws, p: import_video(ws, p, scene="Reach", goal="touch the ball"),
            work / "demo.mp4")),
    ]


CASES = 13
REFUSED = (ValueError, RuntimeError, OSError, KeyError)  # each loader's own error kinds


@pytest.mark.parametrize("flavour", ["pickle", "torch.save", "npy"])
def test_a_planted_pickle_is_refused_in_every_kind_of_file_and_never_runs(
        artifacts, tmp_path, flavour):
    marker = tmp_path / "payload_ran"
    payload = _pickles(marker)[flavour]
    refused = []
    for i in range(CASES):  # each case in its own copy: one planted file at a time
        name, target, load = _cases(artifacts, tmp_path / f"case{i}")[i]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
        with pytest.raises(REFUSED) as caught:
            load()
        assert str(caught.value).strip(), name
        assert not marker.exists(), f"{name}: the planted pickle ran"
        refused.append(name)
    assert len(refused) == CASES
    if flavour == "npy":  # the one place numpy arrays are read: a clear word on object arrays
        work = tmp_path / "npy_message"
        _, target, load = _cases(artifacts, work)[7]
        target.write_bytes(payload)
        with pytest.raises(ValueError, match="allow_pickle|Object arrays|not a"):
            load()
