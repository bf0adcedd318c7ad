"""What the cluster tests run in processes of their own (the scripts, called drivers here, and
the `workbench train` command), and reading what they print."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

from tests.cluster.nodes import CLIENT_PORT


def last_json(stdout: str):
    """The JSON a driver printed last: Ray may print a line of its own after it (a warning
    of lagging heartbeats on a busy machine)."""
    for line in reversed(stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            return json.loads(line)
    raise AssertionError(f"no JSON in the driver's output: {stdout[-2000:]}")


@contextlib.contextmanager
def run_driver(script: str, *args: str, env: dict):
    """A script run with the given arguments, stdin, stdout and stderr piped; killed at the
    end where it still runs."""
    process = subprocess.Popen([sys.executable, "-c", script, *args], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()


# Holds one CPU on each node named in sys.argv[3] (the nodes there were before a test started
# its own), so that a task lands on that test's node; let go once a line comes on stdin.
HOLD_THE_OTHER_NODES = """
import sys, threading
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from workbench.rl.ray_rollouts import connect

ray = connect(sys.argv[1])

@ray.remote(num_cpus=1)
class Hold:
    def ready(self):
        return True

holds = [Hold.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))
         .remote() for node in sys.argv[3].split(",")]
for hold in holds:
    try:
        ray.get(hold.ready.remote(), timeout=120)
    except Exception:  # a node an earlier test killed, still listed a while: nothing to hold
        pass
threading.Thread(target=lambda: (sys.stdin.readline(), [ray.kill(h) for h in holds]),
                 daemon=True).start()
"""


def start_training(address: str, workspace: Path, env: dict, steps: int, *extra: str
           ) -> subprocess.Popen:
    command = [sys.executable, "-m", "workbench.cli.main", "train", "Reach",
               "--reward", "reference", "--ppo.num-envs", "2", "--ppo.rollout-steps", "128",
               "--steps", str(steps), "--eval-episodes", "2", "--no-hacking-guard",
               "--no-tensorboard", "-w", str(workspace), *extra]
    if address:
        command += ["--cluster", address]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


# What the drivers below start with: the nodes' answer replaced, so that none sees the
# workspace (both nodes of this cluster share one disk), and the progress messages kept.
NO_NODE_SEES_IT = """
import json, sys
from pathlib import Path
import workbench.operations.cluster as cluster
import workbench.operations.training as training
from workbench.operations.base import Progress

class Said(Progress):
    lines = []
    def emit(self, kind, **data):
        if kind == "message":
            self.lines.append(data["text"])

cluster.nodes_without = training.nodes_without = lambda ray, path: ["10.0.0.9 (node 0b)"]
"""


SHIPPED_SWEEP = NO_NODE_SEES_IT + """
from workbench import config as cfg
from workbench.operations.training import Sweep
from workbench.rl.run_config import RunConfig

def sweep(workspace, grid, *settings):
    config = cfg.override(RunConfig(scene="Reach"), [
        "ppo.num_envs=2", "ppo.rollout_steps=128", "eval_episodes=1", "tensorboard=false",
        "hacking_guard=false", *settings])
    result = Sweep(config=config, cluster=sys.argv[1], grid=grid, seeds=1,
                   workspace=Path(workspace)).perform(Said())
    return {"result": result, "said": Said.lines}
"""


# 8 updates a trial, none stopped by ASHA (its grace is past the budget); two CPUs, three trials.
# The runs' checkpoint_every is the default 5; a sweep's trial checkpoints every update all the
# same, so one stopped after 2 goes on from there.
STOPPABLE_SWEEP = ["--reward", "reference", "--grid", "ppo.lr=1e-4,2e-4,3e-4", "--seeds", "1",
                   "--grace", "9", "--steps", "2048", "--ppo.num-envs", "2",
                   "--ppo.rollout-steps", "128", "--eval-episodes", "1", "--no-tensorboard",
                   "--no-hacking-guard"]


STOPPED_BY_HAND = NO_NODE_SEES_IT + """
import tempfile
from workbench.cli.generate import Parser, add_arguments, request_from
from workbench.operations.training import Sweep

copies = Path(tempfile.gettempdir())
before = set(copies.glob("workbench-trial-*"))  # the trials' copies are made from now

def updates_logged(log):
    try:
        return sum('"charts/success_rate"' in line for line in log.read_text().splitlines())
    except OSError:  # a copy being cleared
        return 0

class StopOnceARunLoggedTwoUpdates(Said):  # the person presses Stop
    def should_stop(self):
        logs = (log for copy in set(copies.glob("workbench-trial-*")) - before
                for log in copy.glob("runs/*/metrics.jsonl"))
        # The copies on the sweep's disk when Stop is pressed (a Ray Client's own mirror, made
        # every poll of its loop: Stop waits for one, as the test asserts it there).
        mirrored = sorted(p.name for p in Path(sys.argv[2]).glob("sweeps/*/shipped/*"))
        if any(updates_logged(log) >= 2 for log in logs) and any(
                name.endswith(".tar") for name in mirrored):
            print(json.dumps({"mirrored": mirrored}), file=sys.__stdout__, flush=True)
            return True
        return False

args = ["Reach", "--cluster", sys.argv[1], "-w", sys.argv[2], *sys.argv[3:]]
parser = Parser(prog="workbench sweep")
add_arguments(parser, Sweep, args)
sweep = request_from(Sweep, parser.parse_args(args))
print(json.dumps(sweep.perform(Said() if sweep.resume else StopOnceARunLoggedTwoUpdates())))
"""


def sweep_address(where: str, address: str) -> str:
    """The head's Ray Client server where the test drives the sweep through Ray Client."""
    if where == "shipped through Ray Client":
        return f"ray://127.0.0.1:{CLIENT_PORT[0]}"
    return address


@contextlib.contextmanager
def two_updates_into_a_sweep(command: list[str], logs, env: dict):
    """`command` (a sweep of STOPPABLE_SWEEP), once one of the runs in ``logs()`` (their
    metrics files) has logged two updates; killed at the end where it still runs."""
    sweep = subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while updates_logged(logs()) < 2:
            assert time.monotonic() < deadline and sweep.poll() is None
            time.sleep(0.2)
        yield sweep
    finally:
        sweep.kill()


def updates_logged(logs: list[Path]) -> int:
    logged = 0
    for log in logs:
        with contextlib.suppress(OSError):  # a scratch copy being cleared
            logged = max(logged, sum('"charts/success_rate"' in line
                                     for line in log.read_text().splitlines()))
    return logged


# A sweep that ends on an error after its fit (a bug in its bookkeeping), in a process that
# lives on, as the app's does; then the same process goes on with it. sys.argv: the cluster,
# the workspace, the sweep's settings.
ERROR_AFTER_THE_FIT = """
import json, sys
from pathlib import Path
from workbench.cli.generate import Parser, add_arguments, request_from
from workbench.data.workspace import Workspace
from workbench.operations.base import Progress
from workbench.operations.training import Sweep
import workbench.rl.sweep as sweeping

workspace = Path(sys.argv[2])

class StopOnceARunLoggedTwoUpdates(Progress):
    def should_stop(self):
        return any(log.read_text().count('"charts/success_rate"') >= 2
                   for log in workspace.glob("runs/*/metrics.jsonl"))

def sweep(*args):
    parser = Parser(prog="workbench sweep")
    given = ["Reach", "--cluster", sys.argv[1], "-w", str(workspace), *args]
    add_arguments(parser, Sweep, given)
    return request_from(Sweep, parser.parse_args(given))

def broken(*args, **kwargs):
    raise RuntimeError("a bug after the fit")

rows, sweeping.trial_rows = sweeping.trial_rows, broken
try:
    sweep(*sys.argv[3:]).perform(StopOnceARunLoggedTwoUpdates())
except RuntimeError as error:
    print(f"the sweep failed: {error}", file=sys.stderr)
sweeping.trial_rows = rows
with Workspace.open(workspace) as ws:
    print(json.dumps({run["path"]: run for run in ws.runs("Reach")}))
[folder] = (workspace / "sweeps").iterdir()
print(json.dumps(sweep("--resume", str(folder)).perform(Progress())))
"""
