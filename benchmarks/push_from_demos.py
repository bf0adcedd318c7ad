"""A scene (Push unless told) from 5 demonstrations: PPO on the progress reward learned from
them, against PPO on the scene's reference dense reward, same budget and seeds.

The demos are the scene's scripted demonstrator (5 successful takes) plus the failed takes a
user records beside them (2 random, 5 perturbed: pushed past the pad or the wrong way), all at
the chosen difficulty. The progress model is fitted on all of them (nothing held out), PPO
trains on ``progress`` (phi(s')) for ``--steps`` environment steps, and both policies are
evaluated by true success over 40 seeded episodes.

Run: python benchmarks/push_from_demos.py [--scene Push] [--demos 5] [--steps 400000]
         [--seeds 3] [--first-seed 0] [--inputs A,B] [--progress FIELD=VALUE ...]
         [--profile FEATURE]   (--seeds 0: fit and profile only)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from itertools import takewhile

import numpy as np

import workbench  # noqa: F401
from workbench import config as cfg
from workbench.data.workspace import Workspace
from workbench.rewards.progress.config import ProgressConfig
from workbench.rewards.workflow import fit_progress_in_workspace
from workbench.rl.ppo import PPOConfig
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.teleop.recorder import record_demo_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="Push")
    parser.add_argument("--demos", type=int, default=5)
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--difficulty", type=float, default=0.0)
    parser.add_argument("--transform", default="progress")
    parser.add_argument("--inputs", default="hand_to_cube,cube_to_target",
                        help="features the progress reward sees (empty: all)")
    parser.add_argument("--progress", nargs="*", default=(), metavar="FIELD=VALUE",
                        help="other ProgressConfig fields, e.g. kernel=0.15")
    parser.add_argument("--profile", metavar="FEATURE",
                        help="also print the fitted progress with a 3-vector FEATURE (e.g. "
                        "hand_to_target) at 0-10 cm along each axis, averaged over the axes, "
                        "the other features at the takes' mean")
    parser.add_argument("--only", choices=("learned", "reference"))
    args = parser.parse_args()
    inputs = tuple(name for name in args.inputs.split(",") if name)
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.open(folder, create=True)
        record_demo_set(workspace, args.scene, args.demos, difficulty=args.difficulty)
        progress = cfg.override(ProgressConfig(inputs=inputs), args.progress)
        model, report = fit_progress_in_workspace(workspace, args.scene, progress,
                                                  held_out_fraction=0.0)
        print(json.dumps({"model": report["model_id"], "train_demos": report["train_demos"],
                          "train_negatives": report["train_negatives"]}), flush=True)
        if args.profile:
            print(json.dumps(profile(workspace, model, args.scene, args.profile)), flush=True)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for reward in ("latest", "reference"):
                if args.only and args.only != ("learned" if reward == "latest" else reward):
                    continue
                config = RunConfig(
                    scene=args.scene, reward=reward, transform=args.transform,
                    difficulty=args.difficulty, eval_episodes=40, hacking_guard=False,
                    tensorboard=False, checkpoint_every=0,
                    ppo=PPOConfig(total_steps=args.steps, seed=seed),
                )
                start = time.perf_counter()
                result = train_run(workspace, config)
                print(json.dumps({
                    "seed": seed, "reward": "learned" if reward == "latest" else "reference",
                    "success_rate": result["success_rate"],
                    "seconds": round(time.perf_counter() - start, 1),
                }), flush=True)


def profile(workspace: Workspace, model, scene: str, feature: str) -> dict:
    """Progress against the length of one 3-vector feature (how steep it is near the goal)."""
    states = np.concatenate([workspace.load_episode(row["id"])["state"]
                             for row in workspace.episodes(scene=scene)])
    start = sum(size for name, size in takewhile(lambda f: f[0] != feature,
                                                 model.features.items()))
    lengths = np.array([0.0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.06, 0.1])
    progress = np.zeros(len(lengths))
    for axis in np.eye(3):
        probe = np.repeat(states.mean(axis=0, keepdims=True), len(lengths), axis=0)
        probe[:, start:start + 3] = lengths[:, None] * axis
        progress += model.progress(probe.astype(np.float32)) / 3
    return {"profile": feature, "length_m": lengths.tolist(),
            "progress": np.round(progress, 3).tolist()}


if __name__ == "__main__":
    main()
