"""``workbench dataset export --layout joints``: simulated SO-101 takes written as the real
SO-101's LeRobot dataset (``shoulder_pan.pos`` ... in degrees, the gripper in % of its span, as
``lerobot-record`` writes one), read back by ``workbench sim-to-real`` as a real robot's,
trained on by LeRobot's own ``lerobot-train`` in its venv, and the policy it trains run on the
simulated SO-101 by ``workbench lerobot-eval``, seeing what the dataset holds."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from workbench.cli import main as cli_main
from workbench.data import Workspace
from workbench.data.formats.lerobot_joints import read_joint_trajectories
from workbench.envs import make_env
from workbench.export.lerobot_policy import cameras_seen, seen
from workbench.teleop.leader import LeRobotUnits
from workbench.teleop.recorder import record_policy_episodes, scripted_policy

from .test_lerobot_driver import LEROBOT_PYTHON, require_lerobot

JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Two scripted SO-101 takes of Reach with a small front camera, and one of arm6's."""
    root = tmp_path_factory.mktemp("robot_dataset") / "ws"
    ws = Workspace.open(root, create=True)
    with make_env("Reach", robot="so101") as env:
        so101 = record_policy_episodes(env, ws, scripted_policy(env, 0), 2, "scripted", 0,
                                       image_cameras=("front",), image_size=32)
    with make_env("Reach") as env:
        record_policy_episodes(env, ws, scripted_policy(env, 3), 1, "scripted", 3)
    ws.close()
    return root, so101


def _export(workspace: Path, out: Path, *flags: str) -> int:
    return cli_main.main(["dataset", "export", str(out), "-w", str(workspace), "--scene", "Reach",
                          *flags])


def test_the_takes_are_written_as_the_real_robots_joints(workspace, tmp_path, capsys):
    root, so101 = workspace
    out = tmp_path / "so101"
    assert _export(root, out, "--robot", "so101", "--layout", "joints") == 0
    info = json.loads((out / "meta/info.json").read_text())
    assert info["robot_type"] == "so101_follower"
    names = [f"{joint}.pos" for joint in JOINTS]
    for key in ("action", "observation.state"):
        assert info["features"][key]["names"] == names and info["features"][key]["shape"] == [6]
    assert "observation.images.front" in info["features"]
    assert not any("sim_state" in key for key in info["features"])  # not a policy's input
    assert not (out / "meta/workbench.json").exists()

    read = read_joint_trajectories(out)  # the reader of real robots' datasets
    assert read.names == names and read.robot_type == "so101_follower"
    ws = Workspace.open(root)
    takes = [ws.load_episode(i) for i in so101]
    ws.close()
    for (commanded, measured), take in zip(read.episodes, takes, strict=True):
        assert len(measured) == len(take)
        # The measured body joints are the observed joint angles, in degrees (the SO-101's
        # model zero is LeRobot's calibrated middle of the range).
        observed = np.concatenate([take.initial()["state"][None], take["state"][:-1]])[:, :5]
        np.testing.assert_allclose(measured[:, :5], np.degrees(observed), atol=1e-3)
        assert (0 <= measured[:, 5]).all() and (measured[:, 5] <= 100).all()  # % of its span
        assert np.abs(commanded[:, :5] - commanded[0, :5]).max() > 10  # the arm reaches out


def test_the_exported_takes_replay_through_the_twin_as_a_real_robots(workspace, tmp_path,
                                                                     capsys):
    root, _ = workspace
    out = tmp_path / "so101"
    assert _export(root, out, "--robot", "so101", "--layout", "joints") == 0
    capsys.readouterr()
    assert cli_main.main(["sim-to-real", str(out), "--robot", "so101"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] == 2 and report["diverged"] == 0
    for joint, error in report["joints"].items():
        # The twin replays its own commands from where each take started: the joints land
        # where the takes measured them, to the rounding of float32 degrees (a command one
        # step early or late would be off by about a degree a step while the arm moves).
        assert error["max"] < 0.05, (joint, error)

    # Imported as the workbench's takes it is refused in one line that names sim-to-real (a
    # robot's joints do not rebuild the scene's objects), and the workspace is left as it was.
    ws = Workspace.open(root)
    before = len(ws.episodes())
    ws.close()
    assert cli_main.main(["dataset", "import", str(out), "-w", str(root), "--scene",
                          "Reach"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(f"`workbench sim-to-real {out}` replays it on the twin"), err
    assert not any("Traceback" in line for line in err)
    ws = Workspace.open(root)
    assert len(ws.episodes()) == before
    ws.close()


def test_a_robot_lerobot_does_not_drive_is_refused_in_one_line(workspace, tmp_path, capsys):
    root, _ = workspace
    assert _export(root, tmp_path / "arm6", "--robot", "arm6", "--layout", "joints") != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("these robots do: so101 (so101_follower)"), err
    assert not any("Traceback" in line for line in err)
    assert not (tmp_path / "arm6").exists()


def test_a_lerobot_policy_sees_the_twin_as_the_dataset_holds_it(workspace, tmp_path):
    """What ``lerobot-eval`` shows a policy at the start of an episode is the first row and
    frame of the take recorded from the same seed: the joints to float32 rounding, the camera
    frame pixel for pixel (the same renderer and size; the dataset's video adds H.264's loss)."""
    root, so101 = workspace
    ws = Workspace.open(root)
    take = ws.load_episode(so101[1])
    ws.close()
    out = tmp_path / "so101"
    assert _export(root, out, "--robot", "so101", "--layout", "joints") == 0
    first_row = read_joint_trajectories(out).episodes[1][1][0]
    with make_env("Reach", robot="so101", control_mode="joint_position") as env:
        env.reset(seed=take.meta["seed"])
        cameras, renderer = cameras_seen({"observation.state": (6,),
                                          "observation.images.front": (3, 32, 32)}, env)
        units = LeRobotUnits(JOINTS, tuple(env.robot.gripper_range))
        view = seen(env, units, cameras, renderer)
        renderer.close()
    np.testing.assert_allclose(view["observation.state"], first_row, atol=1e-4)
    np.testing.assert_array_equal(view["observation.images.front"],
                                  take.initial()["image/front"])
    with make_env("Reach", robot="so101") as env:  # a camera the scene lacks: one line
        with pytest.raises(ValueError, match="looks through top_down, which the scene does not"):
            cameras_seen({"observation.images.top_down": (3, 32, 32)}, env)


@pytest.mark.parametrize("argv", [["dataset", "export", "out", "--layout", "joints"],
                                  ["teach", "Reach", "--labels", "3"]])
def test_a_robot_without_takes_in_the_scene_is_refused_in_one_line(workspace, argv, capsys,
                                                                   tmp_path, monkeypatch):
    root, _ = workspace
    monkeypatch.chdir(tmp_path)
    scene = [] if argv[0] == "teach" else ["--scene", "Reach"]
    assert cli_main.main([*argv, "-w", str(root), *scene, "--robot", "panda"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("--robot: no takes of panda in Reach here"), err
    assert not (tmp_path / "out").exists()


LEROBOT_TRAIN = """
import sys
from lerobot.scripts.lerobot_train import main
sys.argv = ["lerobot-train", *sys.argv[1:]]
main()
"""


def test_lerobot_trains_its_act_policy_on_the_export_and_it_runs_on_the_twin(
        workspace, tmp_path, capsys, monkeypatch):
    require_lerobot()
    root, _ = workspace
    out = tmp_path / "so101"
    assert _export(root, out, "--robot", "so101", "--layout", "joints") == 0
    run = subprocess.run(
        [str(LEROBOT_PYTHON), "-c", LEROBOT_TRAIN, "--dataset.repo_id=local/so101",
         f"--dataset.root={out}", "--dataset.video_backend=pyav", "--policy.type=act",
         "--policy.device=cpu", "--policy.push_to_hub=false",
         "--policy.pretrained_backbone_weights=null", "--policy.chunk_size=10",
         "--policy.n_action_steps=10", "--steps=2", "--batch_size=2", "--num_workers=0",
         "--save_freq=2", "--log_freq=1", "--wandb.enable=false",
         f"--output_dir={tmp_path / 'train'}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    saved = tmp_path / "train/checkpoints/last/pretrained_model/config.json"
    config = json.loads(saved.read_text())
    assert config["input_features"]["observation.state"]["shape"] == [6]
    assert config["output_features"]["action"]["shape"] == [6]

    # LeRobot's policy on the simulated SO-101, in LeRobot's venv as on the robot's computer.
    monkeypatch.setenv("WORKBENCH_LEROBOT_PYTHON", str(LEROBOT_PYTHON))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    capsys.readouterr()
    assert cli_main.main(["lerobot-eval", str(saved.parent), "--episodes", "2",
                          "--seed", "5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["type"], report["robot"], report["cameras"]) == ("act", "so101", ["front"])
    with make_env("Reach", robot="so101") as env:
        length = env.task.episode_steps
    assert [(e["seed"], e["steps"]) for e in report["episodes"]] == [(5, length), (6, length)]
    assert report["success_rate"] in (0.0, 0.5, 1.0)
    assert report["success_rate"] == sum(e["success"] for e in report["episodes"]) / 2
