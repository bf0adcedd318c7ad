"""Encoder pretraining is paid once per scene and settings: cached on disk with a checksum,
reported while it runs, cancellable, and computed again when the cache entry is damaged."""

from __future__ import annotations

import pytest
import torch

from workbench.progress import Cancelled, reporting
from workbench.rewards.perceptual import encoder_cache, pretrain
from workbench.rewards.perceptual.config import PerceptualConfig
from workbench.rewards.perceptual.model import PerceptualProgressModel

CONFIG = PerceptualConfig(cameras=("front",), image_size=32, channels=4, feature_dim=8,
                          hidden=16, pretrain=40, pretrain_steps=30, reference_frame=False)


def _pretrain(stages: list, config=CONFIG, answer=None):
    net = PerceptualProgressModel("Reach", config, device="cpu").net

    def reporter(stage, done, total):
        stages.append((stage, done, total))
        return answer

    with reporting(reporter):
        metrics = pretrain.pretrain_encoder(net, "Reach", config)
    return net, metrics


def _encoder(net):
    return {k: v for k, v in net.state_dict().items() if k.startswith(("encoder.", "probe."))}


def test_pretraining_is_cached_on_disk_and_reported_once(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pretrain, "_CACHE", {})  # as a new process: nothing in memory
    first_stages: list = []
    first, metrics = _pretrain(first_stages)
    assert {s for s, _, _ in first_stages} == {"rendering Reach in random layouts",
                                               "pretraining the Reach encoder"}
    (entry,) = encoder_cache.cache_root().iterdir()
    assert {p.name for p in entry.iterdir()} == {"encoder.safetensors", "manifest.json"}

    monkeypatch.setattr(pretrain, "_CACHE", {})
    again: list = []
    second, metrics_again = _pretrain(again)
    assert again == []  # nothing rendered or trained: read from disk
    assert metrics_again == metrics
    for name, weights in _encoder(first).items():
        assert torch.equal(weights, _encoder(second)[name]), name

    other = PerceptualConfig(**{**CONFIG.__dict__, "pretrain_steps": 31})
    monkeypatch.setattr(pretrain, "_CACHE", {})
    _pretrain(changed := [], other)
    assert changed and len(list(encoder_cache.cache_root().iterdir())) == 2  # another key


def test_a_damaged_entry_is_computed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pretrain, "_CACHE", {})
    _pretrain([])
    (entry,) = encoder_cache.cache_root().iterdir()
    weights = entry / "encoder.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-3] ^= 0x10
    weights.write_bytes(bytes(raw))
    monkeypatch.setattr(pretrain, "_CACHE", {})
    with pytest.warns(UserWarning, match="does not match its checksum"):
        _pretrain(stages := [])
    assert stages  # pretrained again, and the entry is whole again
    monkeypatch.setattr(pretrain, "_CACHE", {})
    _pretrain(after := [])
    assert after == []


def test_pretraining_can_be_cancelled_and_leaves_no_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pretrain, "_CACHE", {})
    with pytest.raises(Cancelled, match="rendering Reach"):
        _pretrain([], answer=False)
    assert not encoder_cache.cache_root().exists() or not any(
        encoder_cache.cache_root().iterdir())


def test_the_key_follows_the_scene_and_its_base_classes_sources(tmp_path, monkeypatch):
    # DrawerOpen scatters in CabinetTask (scenes/cabinet.py): a change there is another entry.
    from scenes import cabinet

    before = encoder_cache.entry_key("DrawerOpen", {})
    real = encoder_cache.sha256
    monkeypatch.setattr(encoder_cache, "sha256", lambda path: "edited" if str(path) == str(
        cabinet.__file__) else real(path))
    after = encoder_cache.entry_key("DrawerOpen", {})
    assert before != after and "edited" in after["scene_source"]
    assert "edited" not in encoder_cache.entry_key("Reach", {})["scene_source"]  # not a base
