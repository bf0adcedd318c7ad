"""B-Pref-style robustness table: how much each irrational teacher costs, relative to the oracle,
at a fixed label budget: held-out preference accuracy of the fitted reward, and the true success
and reference return of a policy trained on it.

One episode pool (scripted, perturbed and random Push episodes) is recorded once; for each
teacher a copy of it gets ``--labels`` answers to the same sampled queries' distribution (same
seed), a preference ensemble is fitted, PPO trains on it, and the policy's true success is
measured over 40 seeded episodes.

Run: python benchmarks/bpref.py [--scene Push] [--labels 200] [--steps 80000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs import make_env
from workbench.feedback.labels import teach
from workbench.feedback.teachers import TEACHERS
from workbench.rewards.workflow import fit_preference_in_workspace
from workbench.rl.ppo import PPOConfig
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.teleop.recorder import random_policy, record_policy_episodes, scripted_policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="Push")
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--steps", type=int, default=80_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--teachers", nargs="+", default=list(TEACHERS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as root:
        base = Path(root) / "pool"
        ws = Workspace.open(base, create=True)
        env = make_env(args.scene)
        record_policy_episodes(env, ws, scripted_policy(env, 0), 15, "scripted", seed=0)
        record_policy_episodes(env, ws, scripted_policy(env, 100, True), 15, "perturbed",
                               seed=100)
        record_policy_episodes(env, ws, random_policy(env, 200), 15, "random", seed=200)
        ws.close()
        rows = {}
        for name in args.teachers:
            folder = Path(root) / name
            shutil.copytree(base, folder)
            ws = Workspace.open(folder)
            teach(ws, args.scene, TEACHERS[name], args.labels,
                  np.random.default_rng(args.seed))
            _, report = fit_preference_in_workspace(ws, args.scene)
            result = train_run(ws, RunConfig(
                scene=args.scene, reward="latest", eval_episodes=40, hacking_guard=False,
                ppo=PPOConfig(total_steps=args.steps, seed=args.seed)))
            rows[name] = {"success": result["success_rate"],
                          "reference_return": round(result["mean_return"], 2),
                          "held_out_preference_accuracy": report.get("preference_accuracy")}
            print(json.dumps({"teacher": name, **rows[name]}), flush=True)
            ws.close()
        oracle = rows.get("oracle", {}).get("success")
        if oracle is not None:
            base = rows["oracle"]["reference_return"]
            drops = {k: {"success": round(oracle - v["success"], 3),
                         "reference_return_pct": round(100 * (base - v["reference_return"])
                                                       / max(abs(base), 1e-9), 1)}
                     for k, v in rows.items()}
            print(json.dumps({"scene": args.scene, "labels": args.labels, "steps": args.steps,
                              "seed": args.seed, "drop_vs_oracle": drops}))


if __name__ == "__main__":
    main()
