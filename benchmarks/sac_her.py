"""SAC with and without hindsight relabelling on a sparse-reward goal-conditioned scene.

Reach at difficulty 1 (the target anywhere in the arm's reachable box above the table), reward
0 within 2 cm of the target and -1 elsewhere (``workbench.envs.goal``). Both variants share every
setting but ``her``; each is evaluated (20 deterministic episodes, success at the last step)
every ``--eval-every`` steps. All runs in this one script.

Run: python benchmarks/sac_her.py [--steps 12000] [--seeds 3] [--scene Reach]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from workbench.envs.goal import make_goal_env
from workbench.rl.sac import SACConfig, evaluate_sac, train_sac


def run(scene: str, difficulty: float, her: bool, seed: int, steps: int, every: int) -> dict:
    env = make_goal_env(scene, difficulty=difficulty)
    probe = make_goal_env(scene, difficulty=difficulty)
    curve: list[tuple[int, float]] = []

    def evaluate(progress) -> None:
        if progress.step % every == 0:
            curve.append((progress.step,
                          evaluate_sac(progress.policy, probe, 20)["success_rate"]))

    start = time.perf_counter()
    train_sac(env, SACConfig(total_steps=steps, her=her, seed=seed, log_every=every),
              callbacks=(evaluate,))
    reached = next((s for s, rate in curve if rate >= 0.8), None)
    return {"her": her, "seed": seed, "curve": curve, "final_success": curve[-1][1],
            "steps_to_80": reached, "wall_s": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="Reach")
    parser.add_argument("--difficulty", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=12_000)
    parser.add_argument("--eval-every", type=int, default=3_000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = [run(args.scene, args.difficulty, her, seed, args.steps, args.eval_every)
               for seed in range(args.seeds) for her in (True, False)]
    for her in (True, False):
        rows = [r for r in results if r["her"] == her]
        finals = [r["final_success"] for r in rows]
        print(json.dumps({"variant": "SAC+HER" if her else "SAC", "scene": args.scene,
                          "difficulty": args.difficulty, "steps": args.steps,
                          "final_success_mean": round(float(np.mean(finals)), 3),
                          "final_success": finals,
                          "steps_to_80": [r["steps_to_80"] for r in rows],
                          "curves": [r["curve"] for r in rows],
                          "wall_s": [r["wall_s"] for r in rows]}))


if __name__ == "__main__":
    main()
