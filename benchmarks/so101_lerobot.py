"""A bundle on the simulated SO-101 against the same bundle driving LeRobot's SO-101 follower
(its real classes, over a Feetech bus faked at the serial port: tests/export/fake_feetech.py,
servos that move at the STS3215's no-load speed), same seeds, for each bundle given.

Besides success: each episode's final distance from hand to target (the twin's
``hand_to_target``, the policy's last observation), whose median per driver says how closely
the robot's episodes end where the simulated ones do (Reach succeeds within 2 cm).

The robot side runs ``run_on_lerobot`` (what ``workbench run BUNDLE --robot
lerobot:so101_follower`` calls) in LeRobot's venv, with a monitor that keeps the distances.

Run: python benchmarks/so101_lerobot.py BUNDLE [BUNDLE ...] [--episodes 20]
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "export"))

from fake_feetech import so101_bus  # noqa: E402
from test_lerobot_driver import LEROBOT_PYTHON, so101_joints  # noqa: E402

from workbench.export.runner import run_in_sim  # noqa: E402

SEED = 10_000
ROBOT_SIDE = """
import json, sys
import numpy as np
from workbench.export.runner import run_on_lerobot
bundle, port, calibration, episodes, seed = sys.argv[1:6]
ends = []
def monitor(observation, action, command):
    ends.append(float(np.linalg.norm(np.asarray(observation)[-3:])))
    return False
report = run_on_lerobot(bundle, "so101_follower", port, episodes=int(episodes), seed=int(seed),
                        robot_id="desk", calibration_dir=calibration, monitor=monitor)
print(json.dumps({**report, "distances": ends}))
"""


def final_distances(distances: list[float], episodes: int, ticks: int) -> list[float]:
    """The last observed hand-to-target distance of each finished episode (the scene's
    episodes are ``ticks`` long)."""
    return [distances[(i + 1) * ticks - 1] for i in range(episodes)]


def row(driver: str, report: dict, distances: list[float], seconds: float, ticks: int) -> dict:
    ends = final_distances(distances, report["episodes"], ticks) or [float("nan")]
    # a watchdog stop (an observation late, as under load) ends the run early: say so
    return {"driver": driver, "episodes": report["episodes"],
            "stopped": bool(report.get("stopped")), "success_rate": report["success_rate"],
            "failed_seeds": [SEED + i for i, ok in enumerate(report["episode_success"]) if not ok],
            "final_distance_mm_median": round(1000 * float(np.median(ends)), 2),
            "final_distance_mm_max": round(1000 * max(ends), 2),
            "latency_p50_ms": round(report["latency_p50_ms"], 2),
            "missed_ticks": report.get("missed_ticks"), "seconds": round(seconds, 1)}


def measure(bundle: str, episodes: int) -> None:
    distances: list[float] = []

    def monitor(observation, action, command) -> bool:
        distances.append(float(np.linalg.norm(np.asarray(observation)[-3:])))
        return False

    start = time.perf_counter()
    sim = run_in_sim(bundle, episodes=episodes, seed=SEED, monitor=monitor)
    ticks = len(distances) // episodes  # Reach has no early end: every episode is as long
    print(json.dumps({"bundle": bundle, **row("simulation", sim, distances,
                                               time.perf_counter() - start, ticks)}), flush=True)
    bus, calibration = so101_bus(so101_joints())
    with tempfile.TemporaryDirectory() as folder, bus:
        calibration_dir = Path(folder) / "robots" / "so_follower"
        calibration_dir.mkdir(parents=True)
        (calibration_dir / "desk.json").write_text(json.dumps(calibration))
        start = time.perf_counter()
        out = subprocess.run(
            [str(LEROBOT_PYTHON), "-c", ROBOT_SIDE, bundle, bus.port, str(calibration_dir),
             str(episodes), str(SEED)], capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        if out.returncode:
            sys.exit(out.stderr)
        report = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps({"bundle": bundle, "bus_packets": bus.packets,
                      **row("lerobot:so101_follower (faked bus)", report, report["distances"],
                            time.perf_counter() - start, ticks)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="+")
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    for bundle in args.bundles:
        measure(bundle, args.episodes)


if __name__ == "__main__":
    main()
