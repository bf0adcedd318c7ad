"""LeRobot's ACT trained on the workbench's simulated SO-101 takes, run on the twin, against the
scripted demonstrator whose takes it learnt from, on the same fresh seeds.

The whole path an SO-101 owner takes before the real arm: scripted takes of Reach on the
SO-101 with two cameras (``near_front``, ``near_side``; the target is seen only there, as on a
real desk), written as the real arm's LeRobot dataset (``dataset export --layout joints``),
``lerobot-train --policy.type=act`` in LeRobot's venv, then ``workbench lerobot-eval`` on the
simulated SO-101 (the joints in LeRobot's units and the two frames in, joint targets out).

Run: python benchmarks/act_from_takes.py [--takes 50] [--steps 3000] [--episodes 20]
     (LeRobot's venv: .venv-lerobot, built by WORKBENCH_LEROBOT=1 ./setup.sh)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LEROBOT_PYTHON = ROOT / ".venv-lerobot" / "bin" / "python"
CAMERAS = ("near_front", "near_side")
EVAL_SEED = 10_000  # the takes use seeds 0 .. takes-1
SMALL_ACT = ("--policy.dim_model=256", "--policy.dim_feedforward=1024",
             "--policy.n_encoder_layers=2", "--policy.optimizer_lr=1e-4",
             "--policy.optimizer_lr_backbone=1e-4")
TRAIN = """
import sys
from lerobot.scripts.lerobot_train import main
sys.argv = ["lerobot-train", *sys.argv[1:]]
main()
"""


def record_takes(workspace: Path, takes: int, image_size: int) -> None:
    from workbench.data import Workspace
    from workbench.envs import make_env
    from workbench.teleop.recorder import record_policy_episodes, scripted_policy

    ws = Workspace.open(workspace, create=True)
    with make_env("Reach", robot="so101") as env:
        record_policy_episodes(env, ws, scripted_policy(env, 0), takes, "scripted", 0,
                               image_cameras=CAMERAS, image_size=image_size)
    ws.close()


def demonstrator_success(episodes: int) -> float:
    """The scripted demonstrator on the evaluation seeds, in the takes' control mode."""
    from workbench.envs import make_env
    from workbench.teleop.recorder import scripted_successes

    with make_env("Reach", robot="so101") as env:
        outcomes = scripted_successes(env, range(EVAL_SEED, EVAL_SEED + episodes))
    return sum(outcomes) / episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=50)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=20, help="ACT's action chunk (steps)")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--lerobot", nargs="*", default=list(SMALL_ACT),
                        help="more lerobot-train flags (default: a smaller ACT at lr 1e-4, "
                             "which trains at 2 steps/s on 2 cores against 1.4)")
    parser.add_argument("--keep", type=Path, help="keep the workspace, dataset and policy here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="act_from_takes_"))
    root.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "MUJOCO_GL": "egl",
                   "WORKBENCH_LEROBOT_PYTHON": str(LEROBOT_PYTHON)}
    started = time.perf_counter()
    record_takes(root / "ws", args.takes, args.image_size)
    recorded = time.perf_counter() - started
    workbench = [sys.executable, "-m", "workbench.cli.main"]
    subprocess.run([*workbench, "dataset", "export", str(root / "dataset"), "-w",
                    str(root / "ws"), "--scene", "Reach", "--robot", "so101", "--layout",
                    "joints"], check=True, env=environment, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    log = (root / "train.log").open("w")  # LeRobot's progress: tail -f it
    subprocess.run([str(LEROBOT_PYTHON), "-c", TRAIN, "--dataset.repo_id=local/so101_reach",
                    f"--dataset.root={root / 'dataset'}", "--dataset.video_backend=pyav",
                    "--policy.type=act", "--policy.device=cpu", "--policy.push_to_hub=false",
                    "--policy.pretrained_backbone_weights=null",  # nothing downloaded
                    f"--policy.chunk_size={args.chunk}", f"--policy.n_action_steps={args.chunk}",
                    f"--steps={args.steps}", f"--batch_size={args.batch}", "--num_workers=0",
                    f"--save_freq={args.steps}", "--log_freq=500", "--wandb.enable=false",
                    "--seed=1", f"--output_dir={root / 'train'}", *args.lerobot],
                   check=True, env=environment, cwd=root, stdout=log, stderr=log)
    trained = time.perf_counter() - started
    log.close()
    policy = root / "train/checkpoints/last/pretrained_model"
    started = time.perf_counter()
    run = subprocess.run([*workbench, "lerobot-eval", str(policy), "--episodes",
                          str(args.episodes), "--seed", str(EVAL_SEED)],
                         check=True, env=environment, capture_output=True, text=True)
    evaluated = time.perf_counter() - started
    report = json.loads(run.stdout)
    returns = [e["return"] for e in report["episodes"]]
    print(json.dumps({
        "takes": args.takes, "steps": args.steps, "batch": args.batch,
        "image_size": args.image_size, "cameras": list(CAMERAS), "chunk": args.chunk,
        "lerobot_flags": args.lerobot,
        "act_success": report["success_rate"], "act_mean_return": float(np.mean(returns)),
        "demonstrator_success": demonstrator_success(args.episodes),
        "seconds": {"record": round(recorded, 1), "train": round(trained, 1),
                    "evaluate": round(evaluated, 1)},
        "kept": str(root),
    }, indent=1))


if __name__ == "__main__":
    main()
