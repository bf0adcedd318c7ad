"""The nodes of the tests' Ray cluster: the `ray` command, free ports, which nodes are alive,
and a node a test adds to lose."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


CLIENT_PORT: list[int] = []  # the head's Ray Client server, once the cluster runs


def alive_nodes(address: str, env: dict) -> int:
    """How many nodes are alive (marked as node_ids marks its line)."""
    probe = ("import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False); "
             "print('alive:', sum(n['Alive'] for n in ray.nodes()))")
    out = subprocess.run([sys.executable, "-c", probe, address], env=env, capture_output=True,
                         text=True, timeout=60)
    alive = [line for line in out.stdout.splitlines() if line.startswith("alive:")]
    return int(alive[0].removeprefix("alive:")) if out.returncode == 0 and alive else 0


def node_ids(address: str, env: dict) -> str:
    """The alive nodes' ids, comma-separated. Marked, since Ray may print a line of its own
    after them on a busy machine ("raylet has lagging heartbeats")."""
    probe = ("import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False); "
             "print('nodes:' + ','.join(n['NodeID'] for n in ray.nodes() if n['Alive']))")
    out = subprocess.run([sys.executable, "-c", probe, address], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    [ids] = [line for line in out.stdout.splitlines() if line.startswith("nodes:")]
    return ids.removeprefix("nodes:")


@contextlib.contextmanager
def a_node_to_lose(address: str, env: dict):
    """(a node of one CPU joined for one test, the ids of the nodes there before it); the
    node is killed at the end, whatever happened."""
    others = node_ids(address, env)
    node = subprocess.Popen([RAY, "start", f"--address={address}", "--block", "--num-cpus=1",
                             "--disable-usage-stats"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (
                set(node_ids(address, env).split(",")) - set(others.split(","))):
            time.sleep(1.0)
        yield node, others
    finally:
        if node.poll() is None:
            os.killpg(node.pid, signal.SIGKILL)


def lose_node(node: subprocess.Popen, driver: subprocess.Popen) -> tuple[str, str]:
    """Kill the node, tell the driver (it lets go of the other nodes' CPUs), wait for it."""
    os.killpg(node.pid, signal.SIGKILL)
    driver.stdin.write("the node is gone\n")
    driver.stdin.flush()
    return driver.communicate(timeout=400)
