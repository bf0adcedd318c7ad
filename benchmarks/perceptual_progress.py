"""Perceptual progress rewards from 1 and from 5 demonstrations, on every manipulation scene.

For each scene: scripted demonstrations recorded with two cameras (64x64), a perceptual progress
model fitted on the first demo (and on the first five), then measured on 20 held-out successful
scripted episodes (Spearman of learned against ground-truth progress, per episode, averaged) and
on (success, failure) pairs against 10 held-out failures of the scene's perturbed demonstrator.
"With negatives" adds 5 perturbed rollouts (not demos) as negatives to the fit. Scenes whose
layouts come in mirror images (``Task.mirrored_layouts``) train on randomly flipped frames. The
model starts from the scene's defaults (`workbench.rewards.workflow.perceptual_defaults`), as in
the CLI and the Reward panel: Reach's name its ``near_front``/``near_side`` cameras,
``heights=false`` and ``pretrain=2000`` (an encoder first taught to read the scene's state
from 2,000 scattered frames; ``--set pretrain=0`` for a model learned from the demos' frames
alone),
PickPlace's and Stack's the ``near_front``/``near_top`` cameras, ``min_steps=1200``,
``pretrain=2000`` and ``success_head``. ``--set`` applies before recording, so ``--set
cameras=...`` records those cameras. A pretrained encoder's held-out reading error (metres, per
relation) is printed as ``relation_error_m``.

Run: python benchmarks/perceptual_progress.py [--scenes Push ...] [--held-out 20]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace

import torch

import workbench  # noqa: F401
from workbench import config as cfg
from workbench.data.workspace import Workspace
from workbench.envs import make_env
from workbench.registry import SCENES
from workbench.rewards.metrics import progress_spearman, success_failure_accuracy
from workbench.rewards.perceptual import fit_perceptual_progress
from workbench.rewards.workflow import perceptual_defaults
from workbench.teleop.recorder import record_policy_episodes, scripted_policy


def record(workspace, scene, cameras, first_seed, count, perturbed=False):
    env = make_env(scene)
    ids = record_policy_episodes(env, workspace, scripted_policy(env, first_seed, perturbed),
                                 count, source="perturbed" if perturbed else "scripted",
                                 seed=first_seed, image_cameras=cameras, image_size=64)
    env.close()
    return [workspace.load_episode(i) for i in ids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    manipulation = [s for s in SCENES.names() if "manipulation" in SCENES.load(s).tags]
    parser.add_argument("--scenes", nargs="+", default=manipulation)
    parser.add_argument("--held-out", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--keypoints", action="store_true",
                        help="spatial-softmax keypoint encoder (PerceptualConfig.keypoints)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="PerceptualConfig override, repeatable")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for scene in args.scenes:
        # The scene's cameras, mirror flips and options, then the command line's overrides.
        config = cfg.override(replace(perceptual_defaults(scene), epochs=args.epochs,
                                      keypoints=args.keypoints), args.overrides)
        cameras = config.cameras
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            ws = Workspace.open(folder, create=True)
            demos = record(ws, scene, cameras, 0, 5)
            held = [e for e in record(ws, scene, cameras, 100, args.held_out)
                    if e.meta["success"]]
            failures = [e for e in record(ws, scene, cameras, 200, 10, perturbed=True)
                        if not e.meta["success"]]
            negatives = [e for e in record(ws, scene, cameras, 300, 5, perturbed=True)
                         if not e.meta["success"]]
            row = {"scene": scene, "keypoints": args.keypoints, "cameras": cameras,
                   "held_out": len(held),
                   "failures": len(failures)}
            for name, train, neg in [("1 demo", demos[:1], []),
                                     ("1 demo + negatives", demos[:1], negatives),
                                     ("5 demos + negatives", demos, negatives)]:
                t0 = time.perf_counter()
                model = fit_perceptual_progress(train, scene, neg, config)
                row[name] = {
                    "spearman": round(progress_spearman(model, held), 3),
                    "success_vs_failure": round(success_failure_accuracy(model, held, failures),
                                                3),
                    "fit_s": round(time.perf_counter() - t0, 1),
                }
                if "relation_error" in model.metrics:  # a pretrained encoder's reading error
                    row["relation_error_m"] = model.metrics["relation_error"]
            ws.close()
        row["total_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
