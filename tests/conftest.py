"""Shared fixtures: temporary workspaces and a small recorded Push dataset."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MUJOCO_GL", "egl")
# Pretrained encoders are cached on disk: in a folder of this test run's, not the user's.
if "WORKBENCH_CACHE_DIR" not in os.environ:
    os.environ["WORKBENCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="workbench-test-cache-")
    atexit.register(shutil.rmtree, os.environ["WORKBENCH_CACHE_DIR"], True)

import pytest  # noqa: E402
import torch  # noqa: E402

import workbench  # noqa: E402, F401
from tests.margins import TORCH_THREADS  # noqa: E402
from workbench.data import Workspace  # noqa: E402
from workbench.envs import make_env  # noqa: E402
from workbench.teleop.recorder import (  # noqa: E402
    random_policy,
    record_policy_episodes,
    scripted_policy,
)

# One thread, unless a margin run asks for more (tests/margins.py): float sums depend on it.
torch.set_num_threads(TORCH_THREADS)


@pytest.fixture
def workspace(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    yield ws
    ws.close()


@pytest.fixture
def app_settings(tmp_path, monkeypatch):
    """The app's settings (QSettings) in this test's own folder. Qt reads XDG_CONFIG_HOME once
    a process, so setting it alone let a test open on the panel, scene and robot an earlier
    test in the same worker had left (the Record panel's test found the Train panel open, its
    progress bar hidden); ``setPath`` points every QSettings made from now on here."""
    from PyQt6.QtCore import QSettings

    folder = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))  # and for the processes a test starts
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(folder))
    return folder


@pytest.fixture(scope="session")
def push_dataset(tmp_path_factory):
    """A workspace with scripted demos, failed rollouts and held-out demos of Push."""
    root = tmp_path_factory.mktemp("push") / "ws"
    ws = Workspace.open(root, create=True)
    env = make_env("Push")
    ids = {
        "demos": record_policy_episodes(env, ws, scripted_policy(env, 0), 10, "scripted", 0),
        "random": record_policy_episodes(env, ws, random_policy(env, 1), 10, "random", 100),
        "perturbed": record_policy_episodes(
            env, ws, scripted_policy(env, 5, perturbed=True), 10, "perturbed", 300
        ),
        "held_out": record_policy_episodes(
            env, ws, scripted_policy(env, 2), 20, "evaluation", 1000
        ),
        "held_out_random": record_policy_episodes(
            env, ws, random_policy(env, 3), 10, "evaluation-random", 2000
        ),
    }
    env.close()
    yield ws, ids
    ws.close()
