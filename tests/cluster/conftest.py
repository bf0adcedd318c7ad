"""The two-node Ray cluster the tests of a module in this folder share."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.cluster.nodes import CLIENT_PORT, RAY, alive_nodes, free_port


@pytest.fixture(scope="module")
def cluster():
    """(address, the worker node's `ray start --block` process, the environment)."""
    port, client_port = free_port(), free_port()
    address = f"127.0.0.1:{port}"
    # A throwaway cluster of this machine's own processes: no token to hand around.
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    common = ["--num-cpus=1", "--disable-usage-stats"]
    subprocess.run([RAY, "start", "--head", f"--port={port}", "--include-dashboard=false",
                    f"--ray-client-server-port={client_port}", *common], check=True, env=env,
                   capture_output=True, timeout=120)
    CLIENT_PORT[:] = [client_port]
    worker = subprocess.Popen([RAY, "start", f"--address={address}", "--block", *common], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and alive_nodes(address, env) < 2:
            time.sleep(1.0)
        assert alive_nodes(address, env) == 2, "the worker node did not join"
        yield address, worker, env
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)
