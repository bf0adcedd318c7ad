"""Kill a training worker mid-run, resume it from its checkpoint: the result is bit-for-bit the
result of a run that was never interrupted (same seed, CPU)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.data import Workspace
from workbench.rl.ppo import PPOConfig, make_vector_env, train_ppo
from workbench.rl.reward_wrapper import LearnedRewardWrapper

# A rising discount: the updates after a resume must use their own, not the first update's.
CONFIG = PPOConfig(total_steps=6 * 512, num_envs=4, rollout_steps=128, gamma_final=0.999, seed=3)

WORKER = """
import sys, time
import torch
torch.set_num_threads(1)  # as the test: bit-exact at one thread (two may split sums anew)
import workbench
from tests.rl.test_resume import CONFIG, envs
from workbench.rl.ppo import train_ppo

def stall_in_four(progress):
    if progress.update == 4:  # checkpoints are written after the callbacks: 3 is on disk
        open(sys.argv[2], "w").close()  # kill me now
        time.sleep(120)

train_ppo(envs(), CONFIG, callbacks=(stall_in_four,), checkpoint=sys.argv[1])
"""


class CubeForward:
    """A learned-reward stand-in that reads states (so the wrapper's potential is state too)."""

    def score(self, states):
        return np.clip(states[:, 19] - 0.4, -1, 1)


def envs():
    return LearnedRewardWrapper(make_vector_env("workbench/Push-v0", CONFIG.num_envs),
                                CubeForward())


def parameters(policy):
    return torch.cat([p.detach().flatten() for p in policy.state_dict().values()])


def test_a_killed_worker_resumes_to_the_uninterrupted_result(tmp_path):
    # Bit-for-bit holds at one torch thread: at two, a margin run (tests/margins.py) saw the
    # last bits of some parameters differ between two processes.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _kill_and_resume(tmp_path)
    finally:
        torch.set_num_threads(threads)


def _kill_and_resume(tmp_path):
    reference = parameters(train_ppo(envs(), CONFIG))

    checkpoint, marker = tmp_path / "run.ckpt", tmp_path / "in_update4"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(checkpoint), str(marker)],
                              cwd=root)
    deadline = time.time() + 120
    while not marker.exists():
        assert worker.poll() is None and time.time() < deadline, "the worker died early"
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert worker.returncode == -signal.SIGKILL

    resumed = parameters(train_ppo(envs(), CONFIG, checkpoint=checkpoint, resume=True))
    assert torch.equal(resumed, reference)


def test_resuming_with_another_config_is_refused(tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    small = PPOConfig(total_steps=512, num_envs=4, rollout_steps=128, seed=3)
    train_ppo(envs(), small, checkpoint=checkpoint)
    with pytest.raises(ValueError, match="another config"):
        train_ppo(envs(), PPOConfig(total_steps=1024, num_envs=4, rollout_steps=128, seed=3),
                  checkpoint=checkpoint, resume=True)


# Every reward that needs no fitted model (the fitted ones: the test after next and
# tests/rl/test_frame_rewards.py): each layer it wraps the envs in must checkpoint.
@pytest.mark.parametrize("reward", ["reference", "sparse"])
def test_a_stopped_workspace_run_resumes_from_its_folder(workspace, reward):
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    config = RunConfig(scene="Reach", reward=reward, eval_episodes=2, checkpoint_every=1,
                       ppo=PPOConfig(total_steps=4 * 512, num_envs=4, rollout_steps=128))
    first = train_run(workspace, config, callbacks=(lambda p: p.update < 2,))
    folder = first["path"]
    # As a person does it from the command line (the app's "Continue stopped run" is the same).
    from workbench.cli.main import main

    workspace.close()
    assert main(["train", "Reach", "--workspace", str(workspace.root), "--resume", folder]) == 0
    steps = [line for line in open(f"{folder}/metrics.jsonl")]
    assert len(steps) == 4  # updates 1-2, then 3-4 after the resume
    with Workspace.open(workspace.root) as reopened:
        (run,) = reopened.runs("Reach")
    assert run["status"] == "finished" and str(run["path"]) == folder


def test_a_run_another_live_process_trains_is_not_resumed_beside_it(workspace, capsys):
    """Two processes writing one run folder would mix their checkpoints: a run whose row says
    a live process of this machine trains it is refused in one line; once that process has
    died (killed: its row still says running), the run resumes."""
    from workbench.cli.main import main
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    config = RunConfig(scene="Reach", reward="reference", eval_episodes=1, checkpoint_every=1,
                       ppo=PPOConfig(total_steps=2 * 512, num_envs=4, rollout_steps=128))
    folder = train_run(workspace, config, callbacks=(lambda p: p.update < 1,))["path"]
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with Workspace.open(workspace.root) as ws:
        [run] = ws.runs("Reach")
        ws.update_run(run["id"], "running", {"pid": trainer.pid, "host": socket.gethostname()})
    workspace.close()
    resume = ["train", "Reach", "--workspace", str(workspace.root), "--resume", folder]
    assert main(resume) == 2
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.endswith(f"--resume {folder}: it is still running (process {trainer.pid}); "
                         "stop it first")
    trainer.kill()
    trainer.wait()
    assert main(resume) == 0


def test_after_update_hears_each_update_once_the_run_has_stored_it(workspace):
    """What a sweep trial sends elsewhere from ``after_update`` is resumable: the update's log
    line and, where it writes one, its checkpoint are on disk by then."""
    from workbench.rl.checkpoint import load_checkpoint, run_checkpoint
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    config = RunConfig(scene="Reach", reward="reference", eval_episodes=1, checkpoint_every=2,
                       ppo=PPOConfig(total_steps=5 * 512, num_envs=4, rollout_steps=128))
    heard = []

    def stored(progress):
        [run] = workspace.runs("Reach")
        saved = run_checkpoint(run["path"])
        logged = (Path(run["path"]) / "metrics.jsonl").read_text().splitlines()
        heard.append((progress.update, len(logged),
                      load_checkpoint(saved)["update"] if saved.exists() else None))

    train_run(workspace, config, after_update=stored)
    assert heard == [(1, 1, None), (2, 2, 2), (3, 3, 2), (4, 4, 4), (5, 5, 4)]


def test_a_budget_of_part_of_a_batch_still_ends_finished_not_resumable(workspace):
    from workbench.rl.run import resumable_runs, train_run
    from workbench.rl.run_config import RunConfig

    config = RunConfig(scene="Reach", reward="reference", eval_episodes=1, checkpoint_every=1,
                       ppo=PPOConfig(total_steps=2 * 512 + 100, num_envs=4, rollout_steps=128))
    train_run(workspace, config)  # PPO runs whole updates: 1,024 steps of the 1,124 asked
    (run,) = workspace.runs("Reach")
    assert run["status"] == "finished" and not resumable_runs(workspace, "Reach")


def test_a_run_killed_after_its_last_checkpoint_resumes_to_finished(workspace):
    """Killed once its last update's checkpoint is written but before its row says it ended
    (the row still says running): going on trains nothing more, and the run is finished,
    not "stopped" (a sweep trial whose node died then counted as stopped early)."""
    from workbench.rl.run import resumable_runs, train_run
    from workbench.rl.run_config import RunConfig

    config = RunConfig(scene="Reach", reward="reference", eval_episodes=1, checkpoint_every=1,
                       ppo=PPOConfig(total_steps=2 * 512 + 100, num_envs=4, rollout_steps=128))
    folder = train_run(workspace, config)["path"]
    (run,) = workspace.runs("Reach")
    workspace.update_run(run["id"], "running", {})  # as a kill leaves it
    logged = (Path(folder) / "metrics.jsonl").read_text()
    resumed = train_run(workspace, resume_dir=folder)
    (run,) = workspace.runs("Reach")
    assert run["status"] == "finished" and not resumable_runs(workspace, "Reach")
    assert (Path(folder) / "metrics.jsonl").read_text() == logged  # no update trained again
    assert resumed["path"] == folder


def test_a_resumed_run_trains_on_the_reward_it_started_with_not_a_newer_one(workspace):
    from workbench.envs import make_env
    from workbench.rewards.progress import ProgressConfig
    from workbench.rewards.workflow import fit_progress_in_workspace
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig
    from workbench.teleop.recorder import record_policy_episodes, scripted_policy

    env = make_env("Push")
    record_policy_episodes(env, workspace, scripted_policy(env, 0), 2, "scripted", seed=0)
    env.close()
    quick = ProgressConfig(epochs=1, hidden=(8,))
    _, first = fit_progress_in_workspace(workspace, "Push", quick)
    config = RunConfig(scene="Push", eval_episodes=1, checkpoint_every=1, tensorboard=False,
                       ppo=PPOConfig(total_steps=2 * 256, num_envs=2, rollout_steps=128))
    stopped = train_run(workspace, config, callbacks=(lambda p: p.update < 1,))
    _, newer = fit_progress_in_workspace(workspace, "Push", quick)  # now "latest"
    assert newer["path"] != first["path"]
    resumed = train_run(workspace, resume_dir=stopped["path"])
    assert stopped["reward"] == resumed["reward"] == first["path"]


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM],
                         ids=["Ctrl-C", "SIGTERM"])
def test_ctrl_c_in_workbench_train_stops_after_its_update_keeping_a_checkpoint(tmp_path,
                                                                              signal_number):
    """The first Ctrl-C in `workbench train` is the app's Stop: the run ends after the update
    it is in, with that update's checkpoint though the run checkpoints every 5 (the default),
    and is stopped, not interrupted; the command prints its result and exits 0. So does the
    SIGTERM a scheduler pre-empting the job (SLURM), `kill` or a stopping container sends."""
    import json

    from workbench.rl.checkpoint import load_checkpoint, run_checkpoint

    workspace = tmp_path / "ws"
    trainer = _training_in_a_process(workspace, 200_000, 256, lambda: any(
        '"charts/success_rate"' in log.read_text()
        for log in workspace.glob("runs/*/metrics.jsonl")))
    try:
        trainer.send_signal(signal_number)
        out, err = trainer.communicate(timeout=180)
    finally:
        trainer.kill()
    assert trainer.returncode == 0, err[-2000:]
    assert "stopping after this update, keeping a checkpoint" in err
    with Workspace.open(workspace) as ws:
        [run] = ws.runs("Reach")
    assert run["status"] == "stopped" and json.loads(out)["path"] == run["path"]
    logged = [json.loads(line)["step"] for line in (Path(run["path"]) / "metrics.jsonl")
              .read_text().splitlines() if "charts/success_rate" in line]
    saved = load_checkpoint(run_checkpoint(Path(run["path"])))
    assert (saved["update"], saved["step"]) == (len(logged), logged[-1]), logged


def test_a_run_killed_before_its_first_update_starts_over_in_its_own_folder(tmp_path, capsys):
    """`--resume` on a run killed while it collected its first rollout (no update stored, no
    checkpoint) trains it from the start in its folder and row, rather than refusing it or
    leaving an empty run beside a new one. A run that logged updates but kept no checkpoint
    (--checkpoint-every 0) is refused in one line, its log left as it was."""
    import json

    from workbench.cli.main import main
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    workspace = tmp_path / "ws"

    def begun() -> bool:  # its folder and row are made as collection starts
        if not any(workspace.glob("runs/*/config.json")):
            return False
        with Workspace.open(workspace) as ws:
            return bool(ws.runs())

    trainer = _training_in_a_process(workspace, 16_384, 2048, begun)
    try:
        trainer.kill()  # kill -9, before the first of 8,192 steps' update
        trainer.communicate(timeout=60)
    finally:
        trainer.kill()
    [folder] = [path.parent for path in workspace.glob("runs/*/config.json")]
    log = folder / "metrics.jsonl"
    assert not log.exists() or '"charts/success_rate"' not in log.read_text()
    assert main(["train", "Reach", "-w", str(workspace), "--resume", str(folder)]) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0]["event"] == "it had stored no update when it ended: starting it over"
    assert [line["step"] for line in lines[1:]] == [8192, 16384]
    with Workspace.open(workspace) as ws:
        [run] = ws.runs("Reach")
        assert (run["status"], Path(run["path"])) == ("finished", folder.resolve())
        no_checkpoint = RunConfig(scene="Reach", reward="reference", eval_episodes=1,
                                  checkpoint_every=0, tensorboard=False,
                                  ppo=PPOConfig(total_steps=2 * 512, num_envs=4,
                                                rollout_steps=128))
        kept = Path(train_run(ws, no_checkpoint, callbacks=(lambda p: p.update < 1,))["path"])
    logged = (kept / "metrics.jsonl").read_text()
    capsys.readouterr()
    assert main(["train", "Reach", "-w", str(workspace), "--resume", str(kept)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"workbench train: error: --resume {kept}: it kept no checkpoint to continue from "
        "(--checkpoint-every 0), and starting it over would lose the 1 update it logged; "
        "start a new run")
    assert (kept / "metrics.jsonl").read_text() == logged


def test_resuming_a_folder_that_is_no_run_of_the_workspace_is_refused_untouched(tmp_path,
                                                                                capsys):
    """A reward model's folder has a config.json too, which would read as a run's defaults:
    only a folder the workspace lists as a run is resumed, and the other is left as it was."""
    import json

    from workbench.cli.main import main

    with Workspace.open(tmp_path / "ws", create=True) as ws:
        model = ws.new_artifact_dir("models", "progress-Reach")
        (model / "config.json").write_text(json.dumps({"family": "progress", "scene": "Reach"}))
    assert main(["train", "Reach", "-w", str(tmp_path / "ws"), "--resume", str(model)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"workbench train: error: --resume {model}: not a run of the workspace "
        f"{tmp_path / 'ws'} (its runs are in {tmp_path / 'ws' / 'runs'}; `workbench workspace "
        "recover` indexes the run folders its index lost)")
    assert [p.name for p in model.iterdir()] == ["config.json"]


def _training_in_a_process(workspace: Path, steps: int, rollout_steps: int,
                           until: Callable[[], bool]) -> subprocess.Popen:
    """`workbench train Reach` (4 envs) in a process of its own, once ``until()`` holds."""
    trainer = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli.main", "train", "Reach", "--reward", "reference",
         "--steps", str(steps), "--ppo.num-envs", "4", "--ppo.rollout-steps",
         str(rollout_steps), "--eval-episodes", "1", "--no-tensorboard", "--no-hacking-guard",
         "-w", str(workspace)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    while not until():
        if trainer.poll() is not None or time.time() > deadline:
            trainer.kill()
            raise AssertionError(trainer.communicate()[1][-3000:])
        time.sleep(0.01)
    return trainer
