"""What a sweep pays where its trials' nodes do not see the workspace (workbench/rl/
trial_places.py, sweep_shipments.py): the same sweep run in place (every node sees the
workspace) and shipped (the recordings travel with each trial, each trial's run folder comes
back after every update and is written to the sweep's disk), on a local Ray instance.
Shipped is forced by telling the sweep that no node sees the workspace.

Reported per mode: the sweep's wall-clock time; and the size of the recordings' archive, of a
run's folder at its end (what is sent back after each update) and the time to pack it.

Run: python benchmarks/sweep_shipping.py [--scene Push] [--steps 20480] [--seeds 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import workbench.operations.training as training
from workbench import config as cfg
from workbench.data.transfer import pack_folder, pack_recordings
from workbench.data.workspace import Workspace
from workbench.operations.base import Progress
from workbench.operations.recording import Record
from workbench.operations.training import Sweep
from workbench.rl.run_config import RunConfig


def sweep_seconds(workspace: Path, config: RunConfig, seeds: int, shipped: bool) -> float:
    every_node_sees_it = training.nodes_without
    if shipped:
        training.nodes_without = lambda ray, path: ["(the benchmark: as if none did)"]
    try:
        start = time.perf_counter()
        Sweep(config=config, seeds=seeds, workspace=workspace).perform(Progress())
        return time.perf_counter() - start
    finally:
        training.nodes_without = every_node_sees_it


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", default="Push")
    parser.add_argument("--steps", type=int, default=20480)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--demos", type=int, default=10, help="scripted takes recorded first")
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    workspace = Path(tempfile.mkdtemp(prefix="sweep-shipping-")) / "ws"
    Record(scene=args.scene, scripted=args.demos, workspace=workspace).perform(Progress())
    config = cfg.override(RunConfig(scene=args.scene, reward="reference"), [
        f"ppo.total_steps={args.steps}", "hacking_guard=false"])
    seconds: dict[str, list[float]] = {"in place": [], "shipped": []}
    for _ in range(args.repeats):  # alternated, so that a slow spell hits both
        for mode in seconds:
            seconds[mode].append(sweep_seconds(workspace, config, args.seeds, mode == "shipped"))
    with Workspace.open(workspace) as ws:
        recordings = len(pack_recordings(ws, args.scene))
        folders = [Path(run["path"]) for run in ws.runs(args.scene)]
    sizes, pack_ms = [], []
    for folder in folders:  # what a shipped trial packs after each update, at its largest
        start = time.perf_counter()
        sizes.append(len(pack_folder(folder)))
        pack_ms.append(1000 * (time.perf_counter() - start))
    print(json.dumps({"scene": args.scene, "steps": args.steps, "seeds": args.seeds,
                      "seconds": seconds, "recordings_mb": round(recordings / 1e6, 2),
                      "run_folder_mb": round(max(sizes) / 1e6, 2),
                      "pack_ms_median": round(float(np.median(pack_ms)), 2)}))


if __name__ == "__main__":
    main()
