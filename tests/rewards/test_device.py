"""Where reward models run: device and precision choices, stated in words when refused."""

from __future__ import annotations

import pytest
import torch

from workbench.rewards.device import autocast, compute_report, pick_device, pick_precision


def test_auto_precision_is_bfloat16_only_on_a_cuda_device_that_has_it(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert pick_precision("auto", cpu) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert pick_precision("auto", cuda) == torch.bfloat16
    assert pick_precision("float32", cuda) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert pick_precision("auto", cuda) is None  # before Ampere: float32
    assert pick_precision("bfloat16", cpu) == torch.bfloat16
    with pytest.raises(ValueError, match="precision=half: use one of auto, float32, bfloat16"):
        pick_precision("half", cpu)


def test_autocast_for_float32_changes_nothing_and_for_bfloat16_casts_matmuls():
    a = torch.ones(2, 2)
    with autocast("cpu", None):
        assert (a @ a).dtype == torch.float32
    with autocast("cpu", torch.bfloat16):
        assert (a @ a).dtype == torch.bfloat16


def test_a_report_says_where_a_model_was_fitted():
    class OnDevice:
        device = pick_device("cpu")
        precision = torch.bfloat16

    assert compute_report(OnDevice()) == {"device": "cpu", "precision": "bfloat16 autocast"}
    assert compute_report(object()) == {}  # reward code runs on no device
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device=cuda: no CUDA device"):
            pick_device("cuda")
