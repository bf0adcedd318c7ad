"""Environment steps per second of PPO's rollout collection: the local vector env against the
same envs in 1, 2 and 4 Ray actors (workbench/rl/ray_rollouts.py), random actions, the
learner's side included (the actions split, the results merged). The Ray overhead per step is
the extra wall-clock time of a vector step through one actor over the same step in process.

Run: python benchmarks/ray_rollouts.py [--scene Push] [--envs 8] [--steps 400]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time

import numpy as np

from workbench.envs.registration import env_id
from workbench.rl.ppo import make_vector_env, make_wrapped
from workbench.rl.ray_rollouts import RayVectorEnv


def steps_per_second(envs, steps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    envs.reset(seed=seed)
    shape = envs.action_space.shape
    for _ in range(20):  # warm up: first steps load caches, actors start
        envs.step(rng.uniform(-1, 1, shape))
    start = time.perf_counter()
    for _ in range(steps):
        envs.step(rng.uniform(-1, 1, shape))
    return steps * envs.num_envs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", default="Push")
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    rows = {}
    local = make_vector_env(env_id(args.scene), args.envs)
    rows["local SyncVectorEnv"] = steps_per_second(local, args.steps, args.seed)
    local.close()
    make = functools.partial(make_wrapped, env_id(args.scene), None, None)
    for actors in (1, 2, 4):
        # More actors than cores share them (a fraction of a CPU each), as they would.
        cpus = min(1.0, (os.cpu_count() or 1) / actors)
        envs = RayVectorEnv(make, args.envs, actors, "auto", cpus=cpus)
        rows[f"Ray, {actors} actor{'s' * (actors > 1)}"] = steps_per_second(envs, args.steps,
                                                                           args.seed)
        envs.close()
    base = rows["local SyncVectorEnv"]
    overhead_ms = 1000 * args.envs * (1 / rows["Ray, 1 actor"] - 1 / base)
    print(json.dumps({"scene": args.scene, "envs": args.envs, "cpus": os.cpu_count(),
                      "steps_per_s": {k: round(v) for k, v in rows.items()},
                      "ratio_to_local": {k: round(v / base, 2) for k, v in rows.items()},
                      "ray_overhead_ms_per_vector_step": round(overhead_ms, 2)}, indent=1))


if __name__ == "__main__":
    main()
