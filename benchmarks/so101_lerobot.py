"""A bundle on the simulated SO-101 against the same bundle driving LeRobot's SO-101 follower
(its real classes, over a Feetech bus faked at the serial port: tests/export/fake_feetech.py,
servos that move at the STS3215's no-load speed), same seeds.

Run: python benchmarks/so101_lerobot.py BUNDLE [--episodes 20]
     (LeRobot's venv: .venv-lerobot, built by WORKBENCH_LEROBOT=1 ./setup.sh)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "export"))

from fake_feetech import so101_bus  # noqa: E402
from test_lerobot_driver import LEROBOT_PYTHON, so101_joints  # noqa: E402

from workbench.export.runner import run_in_sim  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    start = time.perf_counter()
    sim = run_in_sim(args.bundle, episodes=args.episodes, seed=10_000)
    print(json.dumps({"driver": "simulation", "success_rate": sim["success_rate"],
                      "seconds": round(time.perf_counter() - start, 1)}), flush=True)
    bus, calibration = so101_bus(so101_joints())
    with tempfile.TemporaryDirectory() as folder, bus:
        calibration_dir = Path(folder) / "robots" / "so_follower"
        calibration_dir.mkdir(parents=True)
        (calibration_dir / "desk.json").write_text(json.dumps(calibration))
        env = {**os.environ, "HF_LEROBOT_CALIBRATION": folder, "PYTHONPATH": str(ROOT)}
        start = time.perf_counter()
        out = subprocess.run(
            [str(LEROBOT_PYTHON), "-m", "workbench.cli.main", "run", args.bundle, "--robot",
             "lerobot:so101_follower", "--port", bus.port, "--robot-id", "desk",
             "--episodes", str(args.episodes)], capture_output=True, text=True, env=env)
        if out.returncode:
            sys.exit(out.stderr)
        report = json.loads(out.stdout)
    print(json.dumps({"driver": "lerobot:so101_follower (faked bus)",
                      "success_rate": report["success_rate"],
                      "latency_p50_ms": round(report["latency_p50_ms"], 2),
                      "missed_ticks": report["missed_ticks"], "bus_packets": bus.packets,
                      "seconds": round(time.perf_counter() - start, 1)}))


if __name__ == "__main__":
    main()
