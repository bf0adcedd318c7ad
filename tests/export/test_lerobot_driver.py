"""``workbench run --robot lerobot:so101_follower``: a bundle trained on the simulated SO-101
drives LeRobot's real ``SOFollower`` class, whose real Feetech bus talks to STS3215 servos
faked at the lowest boundary (a pseudo-terminal, ``fake_feetech.py``).

LeRobot 0.4 pins an older torch than the workbench's, so the runner runs in LeRobot's venv
(``.venv-lerobot``, built by ``test.sh``), as it would on a robot computer; this checkout's
code is put first on its path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from robots.so101 import So101
from workbench.envs import make_env

sys.path.insert(0, str(Path(__file__).parent))
from fake_feetech import relax_watchdog, so101_bus, ticks  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LEROBOT_VENV = Path(os.environ.get("WORKBENCH_LEROBOT_VENV", ROOT / ".venv-lerobot"))
LEROBOT_PYTHON = LEROBOT_VENV / "bin" / "python"


def require_lerobot() -> None:
    """Fail (not skip) without the tools' venv: test.sh builds it."""
    if not LEROBOT_PYTHON.exists():
        pytest.fail(f"LeRobot's venv is missing ({LEROBOT_PYTHON}): WORKBENCH_LEROBOT=1 "
                    "./setup.sh builds it")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """A (barely trained) policy for Reach on the SO-101, and one for the Panda."""
    from workbench.data.workspace import Workspace
    from workbench.export.workflow import export_run
    from workbench.rl.ppo import PPOConfig
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    require_lerobot()
    root = tmp_path_factory.mktemp("lerobot")
    workspace = Workspace.open(root / "ws", create=True)
    out = {}
    for robot in ("so101", "panda"):
        config = RunConfig(scene="Reach", robot=robot, reward="reference", eval_episodes=1,
                           tensorboard=False, hacking_guard=False,
                           ppo=PPOConfig(total_steps=256, num_envs=2, rollout_steps=128))
        out[robot] = root / robot
        export_run(train_run(workspace, config)["path"], out[robot])
        relax_watchdog(out[robot])
    return out


def so101_joints() -> dict[str, tuple[float, float, float]]:
    model = make_env("Reach", robot="so101").physics.model
    joints = {}
    for name, start in zip(So101.joints, So101.home, strict=True):
        low, high = model.jnt_range[model.joint(f"robot/{name}").id]
        joints[name] = (float(low), float(high), float(start))
    joints["gripper"] = (*So101.gripper_range, So101.gripper_range[0])
    return joints


def run(bundle: Path, bus, calibration: dict, tmp_path: Path, *extra: str):
    folder = tmp_path / "calibration" / "robots" / "so_follower"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "desk.json").write_text(json.dumps(calibration))
    env = {**os.environ, "HF_LEROBOT_CALIBRATION": str(tmp_path / "calibration"),
           "PYTHONPATH": str(ROOT), "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    command = [str(LEROBOT_PYTHON), "-m", "workbench.cli.main", "run", str(bundle), "--robot",
               "lerobot:so101_follower", "--port", bus.port, "--robot-id", "desk", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path)


def test_a_bundle_drives_lerobots_so101_over_its_serial_bus(bundles, tmp_path):
    # Two sync reads mid-run go unanswered, as on a noisy bus: each is made again and counted.
    bus, calibration = so101_bus(so101_joints(), silent_reads=frozenset({20, 45}))
    with bus:
        out = run(bundles["so101"], bus, calibration, tmp_path, "--episodes", "1")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["episodes"] == 1 and 0.0 <= report["success_rate"] <= 1.0
    assert not report["stopped"]
    assert bus.sync_reads > 45 and report["dropped"] == {"lost status packets": 2}
    assert bus.corrupt == 0
    steps = make_env("Reach", robot="so101").task.episode_steps
    for name, servo in zip(calibration, bus.servos.values(), strict=True):
        # One goal per control tick, and the hold on the way out, in the calibrated range.
        assert len(servo.goals) >= steps, name
        low, high = calibration[name]["range_min"], calibration[name]["range_max"]
        assert all(low - 1 <= goal <= high + 1 for goal in servo.goals), name
    # The arm moved under the policy: some joint left its start by more than a degree.
    moved = [abs(s.position - ticks(start)) for s, (_, _, start)
             in zip(bus.servos.values(), so101_joints().values(), strict=True)]
    assert max(moved) > 4096 / 360


def test_a_bundle_for_another_robot_is_refused_before_anything_moves(bundles, tmp_path):
    bus, calibration = so101_bus(so101_joints())
    with bus:
        out = run(bundles["panda"], bus, calibration, tmp_path)
    assert out.returncode != 0
    assert "are not the bundle's" in out.stderr and "'panda'" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1  # one line, no traceback
    assert all(not servo.goals for servo in bus.servos.values())


def test_an_uncalibrated_arm_is_refused_before_anything_moves(bundles, tmp_path):
    bus, calibration = so101_bus(so101_joints())
    stale = {name: {**entry, "range_max": entry["range_max"] - 100}
             for name, entry in calibration.items()}  # the file no longer matches the servos
    with bus:
        out = run(bundles["so101"], bus, stale, tmp_path)
    assert out.returncode != 0
    assert "not calibrated: run lerobot-calibrate" in out.stderr
    assert all(not servo.goals for servo in bus.servos.values())
