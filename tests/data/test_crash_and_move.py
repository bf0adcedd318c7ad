"""A workspace that tells the truth: a recording killed at chosen points, a lost index and a
moved folder, each followed by what a person does next (fit, export, import, train)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.data.formats.lerobot import export_lerobot, import_lerobot
from workbench.data.workspace import DATABASE, Workspace, WorkspaceError
from workbench.rewards.progress import ProgressConfig
from workbench.rewards.workflow import fit_progress_in_workspace

ROOT = Path(__file__).resolve().parents[2]
TARGET = 3  # the episode the recording dies in
RECORDER = """
import os, signal, sys
from workbench.data.episode import EpisodeWriter
from workbench.data.workspace import Workspace
from workbench.envs import make_env
from workbench.teleop.recorder import record_policy_episodes, scripted_policy

root, point, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
add_frame, finish = EpisodeWriter.add_frame, Workspace._finish_episode

def add_frame_then_die(self, **arrays):
    if self.id == target and point == "before_first_frame":
        die()
    if self.id == target and point == "mid_frame" and self.num_frames == 10:
        first = next(iter(self._files.values()))
        first.write(b"\\0\\0\\0")  # three bytes of the first key of frame 11, then the kill
        first.flush()
        die()
    add_frame(self, **arrays)

def finish_then_die(self, episode_id, num_steps, meta):
    if episode_id == target and point == "before_index_write":
        die()
    finish(self, episode_id, num_steps, meta)

EpisodeWriter.add_frame, Workspace._finish_episode = add_frame_then_die, finish_then_die
workspace = Workspace.open(root, create=True)
env = make_env("Push")
record_policy_episodes(env, workspace, scripted_policy(env, 0), 4, "scripted", seed=0)
"""


@pytest.mark.parametrize("point", ["before_first_frame", "mid_frame", "before_index_write"])
def test_a_recording_killed_anywhere_still_fits_exports_and_imports(point, tmp_path):
    root = tmp_path / "ws"
    killed = subprocess.run([sys.executable, "-c", RECORDER, str(root), point, str(TARGET)],
                            cwd=ROOT, timeout=300)
    assert killed.returncode == -9
    with Workspace.open(root) as ws:
        assert TARGET in ws.recover()
        rows = {r["id"]: r for r in ws.episodes(include_incomplete=True)}
        assert sorted(rows) == [1, 2, TARGET]
        if point == "before_first_frame":  # nothing to keep: incomplete, skipped, reported
            assert rows[TARGET]["status"] == "incomplete"
            (problem,) = ws.check()
            assert f"episode {TARGET}: incomplete" in problem
        else:  # the complete frames are kept; a torn last frame is not one of them
            assert rows[TARGET]["status"] == "saved" and ws.check() == []
            expected = 10 if point == "mid_frame" else rows[1]["num_steps"]
            assert rows[TARGET]["num_steps"] == len(ws.load_episode(TARGET)) == expected
        fit_progress_in_workspace(ws, "Push", ProgressConfig(epochs=2, hidden=(8,)))
        export_lerobot(ws, tmp_path / "lerobot")
        saved = len(ws.episodes())
    with Workspace.open(tmp_path / "imported", create=True) as other:
        assert len(import_lerobot(other, tmp_path / "lerobot")) == saved
    if point == "before_first_frame":  # what `workspace check` told the person to do
        from workbench.cli.main import main

        assert main(["workspace", "check", "--workspace", str(root)]) == 1
        assert main(["episode", "delete", str(TARGET), "--workspace", str(root)]) == 0
        assert main(["workspace", "check", "--workspace", str(root)]) == 0


def _metadata(ws: Workspace) -> list[tuple]:
    return [(r["id"], r["scene"], r["source"], r["status"], r["seed"], r["success"],
             r["num_steps"], r["goal"], r["meta"]) for r in ws.episodes(include_incomplete=True)]


def test_a_lost_index_is_rebuilt_with_every_episodes_metadata(tmp_path):
    from workbench.envs import make_env
    from workbench.teleop.recorder import random_policy, record_policy_episodes, scripted_policy

    root = tmp_path / "ws"
    with Workspace.open(root, create=True) as ws:
        env = make_env("Push")
        record_policy_episodes(env, ws, scripted_policy(env, 0), 2, "scripted", seed=5)
        record_policy_episodes(env, ws, random_policy(env, 1), 2, "random", seed=9)
        env.close()
        kept = ws.add_preference([(1, 0, 10), (3, 0, 10)], "left")
        ws.add_preference([(2, 0, 10), (4, 0, 10)], "right")
        ws.delete_episode(4)  # its label goes with it, from the journal too
        before = _metadata(ws)
    (root / DATABASE).unlink()
    # Refused rather than opened empty: a new take would be numbered over episode 1.
    with pytest.raises(WorkspaceError, match="missing.*workspace recover"):
        Workspace.open(root)
    assert main(["workspace", "recover", "-w", str(root)]) == 0
    with Workspace.open(root) as ws:
        assert [e["id"] for e in ws.episodes()] == [1, 2, 3]
        assert _metadata(ws) == before
        (label,) = ws.preferences()
        assert (label.id, label.answer, [s[0] for s in label.segments]) == (kept, "left", [1, 3])


def test_a_moved_workspace_trains_on_its_own_models_and_exports(tmp_path):
    from workbench.envs import make_env
    from workbench.export.workflow import export_run
    from workbench.rl.ppo import PPOConfig
    from workbench.rl.run import latest_run, train_run
    from workbench.rl.run_config import RunConfig
    from workbench.teleop.recorder import record_policy_episodes, scripted_policy

    config = RunConfig(scene="Push", eval_episodes=1, tensorboard=False, checkpoint_every=1,
                       ppo=PPOConfig(num_envs=2, rollout_steps=32, total_steps=128))
    with Workspace.open(tmp_path / "here", create=True) as ws:
        env = make_env("Push")
        record_policy_episodes(env, ws, scripted_policy(env, 0), 2, "scripted", seed=0)
        env.close()
        fit_progress_in_workspace(ws, "Push", ProgressConfig(epochs=2, hidden=(8,)))
        stopped = train_run(ws, config, callbacks=(lambda p: p.update < 1,))
    shutil.move(tmp_path / "here", tmp_path / "there")
    with Workspace.open(tmp_path / "there") as ws:
        (model,) = ws.models()
        assert model["path"].startswith(str(tmp_path / "there"))
        moved_run = stopped["path"].replace(str(tmp_path / "here"), str(tmp_path / "there"))
        resumed = train_run(ws, resume_dir=moved_run)  # its config names the model relatively
        assert resumed["reward"] == model["path"]
        bundle = export_run(latest_run(ws, "Push"), tmp_path / "bundle")
        assert bundle["parity"]["passed"]


def test_flipped_bytes_in_episodes_rewards_and_bundles_are_named(tmp_path):
    """Every file the workbench writes has its digest in its manifest: a changed byte is an
    error naming the file (episodes: reported by `workspace check`)."""
    import numpy as np

    from workbench.envs import make_env
    from workbench.export.bundle import export_bundle
    from workbench.export.runner import BundleError, OnnxPolicy
    from workbench.rewards.artifact import ArtifactError, load_reward_model
    from workbench.rl.policy import GaussianPolicy
    from workbench.teleop.recorder import record_policy_episodes, scripted_policy

    def flip(path: Path, at: int = -1) -> None:
        data = bytearray(path.read_bytes())
        data[at] ^= 0x01
        path.write_bytes(bytes(data))

    with Workspace.open(tmp_path / "ws", create=True) as ws:
        env = make_env("Push")
        (episode_id,) = record_policy_episodes(env, ws, scripted_policy(env, 0), 1, "scripted")
        env.close()
        _, report = fit_progress_in_workspace(ws, "Push", ProgressConfig(epochs=1, hidden=(8,)))
        assert ws.check() == []
        flip(ws.load_episode(episode_id).folder / "state.bin")
        (problem,) = ws.check()
        assert f"episode {episode_id}: state.bin changed" in problem
    flip(Path(report["path"]) / "model.safetensors", at=-2)
    with pytest.raises(ArtifactError, match="model.safetensors does not match the checksum"):
        load_reward_model(report["path"], device="cpu")

    export_bundle(GaussianPolicy(2, 2), tmp_path / "bundle", {"scene": "Push"},
                  np.zeros((4, 2), np.float32))
    OnnxPolicy(tmp_path / "bundle")  # as written: fine
    flip(tmp_path / "bundle" / "policy.onnx")
    with pytest.raises(BundleError, match="policy.onnx does not match the checksum"):
        OnnxPolicy(tmp_path / "bundle")


def test_a_run_killed_before_its_first_checkpoint_is_failed_after_recovery(tmp_path):
    killer = """
import os, signal, sys
from workbench.data.workspace import Workspace
from workbench.rl.ppo import PPOConfig
from workbench.rl.run_config import RunConfig
from workbench.rl.run import train_run
with Workspace.open(sys.argv[1], create=True) as ws:
    train_run(ws, RunConfig(scene="Reach", reward="reference", checkpoint_every=0,
                            ppo=PPOConfig(num_envs=2, rollout_steps=32, total_steps=10_000)),
              callbacks=(lambda p: os.kill(os.getpid(), signal.SIGKILL),))
"""
    killed = subprocess.run([sys.executable, "-c", killer, str(tmp_path / "ws")], cwd=ROOT,
                            timeout=300)
    assert killed.returncode == -9
    with Workspace.open(tmp_path / "ws") as ws:
        (run,) = ws.runs()
        assert run["status"] == "running"  # what the killed process left
        assert any("process is gone" in p for p in ws.check())
        ws.recover()
        assert ws.runs()[0]["status"] == "failed" and ws.check() == []
