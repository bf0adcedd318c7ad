"""The margins of the tests that assert an outcome of RL training, over seeds and threads.

Each test marked ``rl_outcome`` trains with ``tests.margins.seed(...)`` and asserts through
``tests.margins.at_least``, which logs the value it saw. This script runs those tests once per
seed shift (and torch thread count), then prints one row per test: the threshold it asserts,
the worst and median value seen, and how many runs fell below the threshold.

    python benchmarks/rl_test_margins.py --shifts 0 100 200 300 400 --threads 1 2

A run that fails is kept in the table (its value is below the threshold): the point of the
script is to show how far from failing each test stands, not to pass.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run(shift: int, threads: int, log: Path, selection: list[str]) -> int:
    env = {**os.environ, "WORKBENCH_TEST_SEED_SHIFT": str(shift),
           "WORKBENCH_TEST_TORCH_THREADS": str(threads), "WORKBENCH_MARGINS_LOG": str(log),
           "QT_QPA_PLATFORM": "offscreen", "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m",
               "rl_outcome", *selection]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def table(log: Path) -> str:
    runs: dict[str, list[dict]] = defaultdict(list)
    for line in log.read_text().splitlines():
        record = json.loads(line)
        runs[record["name"]].append(record)
    rows = ["| test value | threshold | runs | worst | median | best | below |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, records in sorted(runs.items()):
        values = np.array([r["value"] for r in records])
        threshold = records[-1]["threshold"]
        rows.append(f"| {name} | {threshold:.3g} | {len(values)} | {values.min():.3g} | "
                    f"{np.median(values):.3g} | {values.max():.3g} | "
                    f"{int((values < threshold).sum())} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shifts", type=int, nargs="+", default=[0, 100, 200])
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--log", type=Path, default=None,
                        help="JSON-lines file to append to (default: a temporary file)")
    parser.add_argument("tests", nargs="*", help="pytest selection (default: all tests)")
    args = parser.parse_args()
    log = args.log or Path(tempfile.mkdtemp()) / "margins.jsonl"
    for threads in args.threads:
        for shift in args.shifts:
            print(f"# seed shift {shift}, {threads} torch thread(s)", flush=True)
            run(shift, threads, log, args.tests)
    print(table(log))
    print(f"(values in {log})")


if __name__ == "__main__":
    main()
