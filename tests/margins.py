"""Tests of learning outcomes that hold on any machine.

Where one seed of RL training ends depends on the processor's floating-point path (Intel and
AMD differ after a few thousand updates), so a test that asserts an outcome of training states
its threshold with a margin proven over several seeds, processors and thread counts, and can be
re-run with its seeds shifted and another torch thread count to prove the margin again:

    WORKBENCH_TEST_SEED_SHIFT=100 WORKBENCH_TEST_TORCH_THREADS=2 \
    WORKBENCH_MARGINS_LOG=/tmp/margins.jsonl ./test.sh -m rl_outcome

``python benchmarks/rl_test_margins.py`` runs that over a set of shifts and prints, per test,
the worst value seen beside the threshold the test asserts.
"""

from __future__ import annotations

import json
import os
import time

SEED_SHIFT = int(os.environ.get("WORKBENCH_TEST_SEED_SHIFT", "0"))
TORCH_THREADS = int(os.environ.get("WORKBENCH_TEST_TORCH_THREADS", "1"))
_LOG = os.environ.get("WORKBENCH_MARGINS_LOG", "")


def seed(base: int) -> int:
    """The seed an RL-outcome test trains with: its own, shifted for a margin re-run."""
    return base + SEED_SHIFT


def at_least(*checks: tuple[str, float, float]) -> None:
    """Assert outcomes of training, each ``(name, value, threshold)`` with ``value >=
    threshold``. All are recorded first (when ``WORKBENCH_MARGINS_LOG`` names a file), so a
    margin run sees every value even where one falls short."""
    if _LOG:
        with open(_LOG, "a") as log:
            for name, value, threshold in checks:
                log.write(json.dumps({
                    "name": name, "value": float(value), "threshold": float(threshold),
                    "seed_shift": SEED_SHIFT, "torch_threads": TORCH_THREADS,
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
    short = [f"{name}: {value:.4g} < {threshold:.4g}" for name, value, threshold in checks
             if not value >= threshold]
    assert not short, f"{'; '.join(short)} (seed shift {SEED_SHIFT})"
