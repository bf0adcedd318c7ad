"""SAC with a person's take-over steps against SAC without them (sparse Reach, goal-conditioned).

First a policy that knows nothing (uniform random actions) runs ``--takes`` episodes while a
device takes over from step ``--start`` for ``--steps-taken`` steps (the scene's scripted
demonstrator, standing in for a person with a gamepad): those steps are the interventions.
Then SAC (+HER, default settings) trains with the interventions filling half of every batch
(RLPD's symmetric sampling), and without them, same seeds; each evaluated (20 deterministic
episodes, success at the last step) every ``--eval-every`` steps. Steps to 80% success count
the take-over episodes' steps too.

Run: python benchmarks/takeover_sac.py [--steps 9000] [--seeds 3] [--first-seed 300] [--no-her]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from workbench.envs.goal import make_goal_env
from workbench.rl.sac import SACConfig, evaluate_sac, train_sac
from workbench.rl.takeover import run_with_takeover, scripted_takeover


def run(seed: int, demos, steps: int, every: int, offset: int, her: bool) -> dict:
    env = make_goal_env("Reach", difficulty=1.0)
    probe = make_goal_env("Reach", difficulty=1.0)
    curve: list[tuple[int, float]] = []

    def evaluate(progress) -> None:
        if progress.step % every == 0:
            curve.append((progress.step + offset,
                          evaluate_sac(progress.policy, probe, 20)["success_rate"]))

    start = time.perf_counter()
    train_sac(env, SACConfig(total_steps=steps, seed=seed, log_every=every, her=her),
              callbacks=(evaluate,), demos=demos)
    reached = next((s for s, rate in curve if rate >= 0.8), None)
    return {"takeover": demos is not None, "her": her, "seed": seed, "curve": curve,
            "steps_to_80": reached, "wall_s": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=9_000)
    parser.add_argument("--eval-every", type=int, default=1_500)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=300)
    parser.add_argument("--takes", type=int, default=10)
    parser.add_argument("--start", type=int, default=10)
    parser.add_argument("--steps-taken", type=int, default=40)
    parser.add_argument("--her", action=argparse.BooleanOptionalAction, default=True,
                        help="hindsight relabelling for both variants")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        env = make_goal_env("Reach", difficulty=1.0)
        rng = np.random.default_rng(seed)
        report = run_with_takeover(
            env, lambda obs, rng=rng: rng.uniform(-1, 1, 4).astype(np.float32),
            scripted_takeover(env, args.start, args.steps_taken, seed), args.takes,
            seed=50_000 + seed)
        takeover_steps = sum(len(flags) for flags in report.human_steps)
        print(json.dumps({"seed": seed, "takes": args.takes, "steps": takeover_steps,
                          "human_steps": len(report.interventions),
                          "takes_successful": sum(report.successes)}), flush=True)
        for demos, offset in ((report.interventions, takeover_steps), (None, 0)):
            print(json.dumps(run(seed, demos, args.steps, args.eval_every, offset, args.her)),
                  flush=True)


if __name__ == "__main__":
    main()
