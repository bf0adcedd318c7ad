"""A frame reward's fit and scoring in float32 against bfloat16 autocast (``--precision``).

Records ``--demos`` scripted Push demos (and 3 more, held out) with 64x64 frames of two views
into a temporary workspace, then for each precision on ``--device``: fits a perceptual progress
reward on the demos (no pretraining, ``--epochs`` passes after a one-pass warm-up: gradient
steps per second; Spearman with true progress on the held-out demos) and scores batches of 256
frames (frames per second). The fits start from the same seed; the last row is how far
bfloat16's scores stray from float32's for the same weights (the float32 fit, scored both
ways). On a CUDA device ``auto`` is bfloat16, on the CPU float32 (``workbench.rewards.device``).

Run: python benchmarks/reward_precision.py [--device auto] [--demos 5] [--epochs 20]
     [--order float32 bfloat16]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace

import numpy as np
import torch

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs import make_env
from workbench.rewards.metrics import progress_spearman
from workbench.rewards.perceptual import PerceptualConfig, fit_perceptual_progress
from workbench.teleop.recorder import record_policy_episodes, scripted_policy

CAMERAS = ("front", "top")


def demos(workspace: Workspace, count: int) -> list:
    env = make_env("Push")
    ids = record_policy_episodes(env, workspace, scripted_policy(env, 0), count, "scripted",
                                 seed=0, image_cameras=CAMERAS, image_size=64)
    env.close()
    return [workspace.load_episode(i) for i in ids]


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--demos", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--order", nargs=2, default=["float32", "bfloat16"],
                        choices=["float32", "bfloat16"], help="which precision runs first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, Workspace.open(folder, create=True) as ws:
        episodes = demos(ws, args.demos + 3)
        episodes, held_out = episodes[: args.demos], episodes[args.demos :]
        frames = np.concatenate([np.stack([e[f"image/{c}"] for c in CAMERAS], axis=1)
                                 for e in episodes])
        batch = frames[np.arange(256) % len(frames)]
        base = PerceptualConfig(cameras=CAMERAS, image_size=64, epochs=args.epochs,
                                device=args.device)
        rows, fitted = [], {}
        for precision in args.order:
            config = replace(base, precision=precision)
            fit_perceptual_progress(episodes, "Push", config=replace(config, epochs=1))  # warm-up
            start = time.perf_counter()
            model = fit_perceptual_progress(episodes, "Push", config=config)
            synchronise(model.device)
            fit_s = time.perf_counter() - start
            steps = args.epochs * -(-len(frames) // config.batch_size)
            model.progress(batch)  # warm-up
            synchronise(model.device)
            start = time.perf_counter()
            for _ in range(args.repeats):
                model.progress(batch)
            synchronise(model.device)
            score_s = (time.perf_counter() - start) / args.repeats
            fitted[precision] = model
            rows.append({"device": str(model.device), "precision": precision,
                         "frames": len(frames), "fit_s": round(fit_s, 2),
                         "fit_steps_per_s": round(steps / fit_s, 1),
                         "score_frames_per_s": round(len(batch) / score_s),
                         "held_out_spearman": round(progress_spearman(model, held_out), 3)})
        model = fitted["float32"]
        full = model.progress(frames)
        model.net.encoder.precision = torch.bfloat16
        mixed = model.progress(frames)
        rows.append({"bfloat16_vs_float32_max_abs": round(float(np.abs(mixed - full).max()), 4),
                     "mean_abs": round(float(np.abs(mixed - full).mean()), 6)})
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
