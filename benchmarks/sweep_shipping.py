"""What a sweep pays where its trials' nodes do not see the workspace (workbench/rl/
trial_places.py, sweep_shipments.py): the same sweep run in place (every node sees the
workspace), shipped (the recordings travel with each trial, each trial's run folder comes
back after every update and is written to the sweep's disk) and shipped through Ray Client
(`ray://`: Tune's loop on the head, the sweep's process following it through its desk and
mirroring the copies itself, workbench/rl/sweep_desk.py), on a throwaway one-node cluster of
this machine (a head with a Ray Client server). Shipped is forced by telling the sweep that
no node sees the workspace. Each sweep connects afresh, so each pays its connection.

Reported per mode: the sweep's wall-clock time; and the size of the recordings' archive, of a
run's folder at its end (what is sent back after each update) and the time to pack it.

Run: python benchmarks/sweep_shipping.py [--scene Push] [--steps 20480] [--seeds 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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


def sweep_seconds(workspace: Path, config: RunConfig, seeds: int, shipped: bool,
                  cluster: str) -> float:
    """One sweep's wall-clock time, connection included, in this process (``--once``)."""
    if shipped:
        training.nodes_without = lambda ray, path: ["(the benchmark: as if none did)"]
    start = time.perf_counter()
    Sweep(config=config, seeds=seeds, cluster=cluster, workspace=workspace).perform(Progress())
    return time.perf_counter() - start


def in_a_process_of_its_own(args: argparse.Namespace, workspace: Path, shipped: bool,
                            cluster: str) -> float:
    """:func:`sweep_seconds` in a fresh process, as a user's sweep command runs (a process
    joins one Ray cluster, as a driver or as a Ray Client, once)."""
    out = subprocess.run([sys.executable, __file__, "--once", str(workspace), "--cluster",
                          cluster, "--scene", args.scene, "--steps", str(args.steps),
                          "--seeds", str(args.seeds), *(["--shipped"] if shipped else [])],
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def head_with_a_client_server(cpus: int) -> Iterator[tuple[str, str]]:
    """A one-node Ray cluster of this machine: its address, and its Ray Client's."""
    ray = str(Path(sys.executable).with_name("ray"))
    port, client = _free_port(), _free_port()
    subprocess.run([ray, "start", "--head", f"--port={port}", f"--num-cpus={cpus}",
                    f"--ray-client-server-port={client}", "--include-dashboard=false",
                    "--disable-usage-stats"], check=True, capture_output=True)
    try:
        yield f"127.0.0.1:{port}", f"ray://127.0.0.1:{client}"
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", default="Push")
    parser.add_argument("--steps", type=int, default=20480)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--demos", type=int, default=10, help="scripted takes recorded first")
    parser.add_argument("--once", type=Path, help=argparse.SUPPRESS)  # one sweep, this workspace
    parser.add_argument("--cluster", help=argparse.SUPPRESS)
    parser.add_argument("--shipped", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    config = cfg.override(RunConfig(scene=args.scene, reward="reference"), [
        f"ppo.total_steps={args.steps}", "hacking_guard=false"])
    if args.once:
        print(sweep_seconds(args.once, config, args.seeds, args.shipped, args.cluster))
        return
    workspace = Path(tempfile.mkdtemp(prefix="sweep-shipping-")) / "ws"
    Record(scene=args.scene, scripted=args.demos, workspace=workspace).perform(Progress())
    seconds: dict[str, list[float]] = {"in place": [], "shipped": [], "shipped, Ray Client": []}
    with head_with_a_client_server(os.cpu_count() or 2) as (address, client):
        for _ in range(args.repeats):  # alternated, so that a slow spell hits each
            for mode in seconds:
                seconds[mode].append(in_a_process_of_its_own(
                    args, workspace, mode != "in place",
                    client if mode.endswith("Ray Client") else address))
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
