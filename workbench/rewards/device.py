"""Where reward models run: the device, and the precision their frame encoders compute in.

Mixed precision is used where it is safe: a frame model's convolutions (nearly all of its
arithmetic) run in bfloat16 under ``torch.autocast`` on a CUDA device that supports it; the
weights, the optimiser, the losses, the feature heads and the state probe stay float32 (the
probe reads distances in millimetres). bfloat16 rather than float16 because it keeps float32's
exponent range: no loss scaling, no overflow in a loss, the same training loop on both.
"""

from __future__ import annotations

import contextlib

import torch

# What a config's ``precision`` field accepts.
PRECISIONS = ("auto", "float32", "bfloat16")


def pick_device(device: str = "auto") -> torch.device:
    """CUDA when present and asked for (``auto``), the CPU otherwise."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    chosen = torch.device(device)
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device}: no CUDA device is available here; use auto or cpu")
    if chosen.type == "cuda" and (chosen.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device={device}: this machine has {torch.cuda.device_count()} CUDA "
                         "device(s)")
    return chosen


def pick_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The dtype a frame encoder's convolutions autocast to on ``device``; None: float32.

    ``auto`` is bfloat16 on a CUDA device with bfloat16 support (Ampere and later) and float32
    elsewhere: on a CPU it is measured faster only where the CPU has matrix units for it (AMX;
    1.5-2x on the Intel machine in docs/BENCHMARKS.md), and the tests' margins were measured in
    float32. ``bfloat16`` asks for it anywhere autocast supports it (the CPU too)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision}: use one of {', '.join(PRECISIONS)}")
    if precision == "float32":
        return None
    if precision == "auto":
        cuda = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if cuda else None
    return torch.bfloat16


def autocast(device_type: str, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to ``dtype``, or nothing at all for None (float32)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=dtype)


def precision_name(dtype: torch.dtype | None) -> str:
    """How a report names it: ``float32`` or ``bfloat16 autocast``."""
    return "float32" if dtype is None else f"{str(dtype).removeprefix('torch.')} autocast"


def compute_report(model) -> dict[str, str]:
    """What a fit's report says of where it ran: ``device`` and ``precision`` (nothing for a
    model that runs on no device, such as reward code)."""
    device = getattr(model, "device", None)
    if device is None:
        return {}
    return {"device": str(device), "precision": precision_name(getattr(model, "precision", None))}
