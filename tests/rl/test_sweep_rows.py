"""After a sweep, the runs ASHA stopped (Tune ends their worker process, so their rows still
say "running") are marked stopped; rows from before the sweep and live runs are left alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from workbench.data.workspace import Workspace
from workbench.rl.sweep import mark_early_stopped


def test_rows_left_running_by_a_sweep_are_marked_stopped(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = {"host": socket.gethostname(), "pid": int(gone.stdout)}
    alive = {"host": socket.gethostname(), "pid": os.getpid()}
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        older = ws.add_run("ppo-Reach", "Reach", tmp_path / "a", "running", dead)
        before = older
        stopped = ws.add_run("ppo-Reach", "Reach", tmp_path / "b", "running", dead)
        remote = ws.add_run("ppo-Reach", "Reach", tmp_path / "c", "running",
                            {"host": "another-node", "pid": 1})
        live = ws.add_run("ppo-Reach", "Reach", tmp_path / "d", "running", alive)
        done = ws.add_run("ppo-Reach", "Reach", tmp_path / "e", "finished", dead)
    assert mark_early_stopped(tmp_path / "ws", before) == [stopped, remote]
    with Workspace.open(tmp_path / "ws") as ws:
        rows = {run["id"]: run for run in ws.runs()}
    assert rows[stopped]["status"] == rows[remote]["status"] == "stopped"
    assert rows[stopped]["metrics"]["stopped_by"] == "ASHA early stopping"
    assert rows[stopped]["metrics"]["pid"] == dead["pid"]  # the row keeps what it had
    assert rows[older]["status"] == rows[live]["status"] == "running"
    assert rows[done]["status"] == "finished"
