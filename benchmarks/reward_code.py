"""Reward code: what the sandbox costs, and how well PPO learns on a reward a person wrote.

``--cost``: the same Push reward (``workbench.rewards.code.model.EXAMPLE``) scored on batches
of states by the sandboxed worker (source checked, curated numpy, a process under rlimits)
against the same function called in this process; reported per 10,000 states, for the batch
sizes training uses (8 envs) and checking uses (whole episodes).

``--ppo``: PPO on that reward (potential-based ``progress`` transform, the defaults of
``workbench train``) on Push, evaluated on the scene's true success, per seed.

Run: python benchmarks/reward_code.py --cost
     python benchmarks/reward_code.py --ppo --seeds 300 301 302 --steps 400000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench.rewards.code.model import EXAMPLE
from workbench.rewards.code.sandbox import Sandbox, load


def cost(rounds: int = 5) -> list[dict]:
    rng = np.random.default_rng(0)
    plain = load(EXAMPLE)  # checked and curated, but in this process: the bare function
    rows = []
    with Sandbox(EXAMPLE) as box:
        box.score({"hand_to_cube": np.ones((1, 3)), "cube_to_target": np.ones((1, 3))})
        for batch in (8, 100, 10_000):
            calls = max(1, 10_000 // batch)
            features = {"hand_to_cube": rng.normal(size=(batch, 3)),
                        "cube_to_target": rng.normal(size=(batch, 3))}
            best = {"sandbox": np.inf, "plain": np.inf}
            for _ in range(rounds):
                for name, call in (("sandbox", box.score), ("plain", plain)):
                    start = time.perf_counter()
                    for _ in range(calls):
                        call(features)
                    best[name] = min(best[name], time.perf_counter() - start)
            rows.append({"batch": batch, "sandbox_ms_per_10k": 1e3 * best["sandbox"],
                         "plain_ms_per_10k": 1e3 * best["plain"],
                         "ratio": best["sandbox"] / best["plain"]})
    return rows


def ppo(seeds: list[int], steps: int) -> list[dict]:
    from workbench import config as cfg
    from workbench.operations import Progress
    from workbench.operations.recording import Record
    from workbench.operations.rewards import FitReward
    from workbench.operations.training import Train
    from workbench.rewards.code.model import CodeConfig
    from workbench.rl.run_config import RunConfig

    rows = []
    for seed in seeds:
        root = Path(tempfile.mkdtemp(prefix="reward-code-"))
        Record(workspace=root, scene="Push", scripted=3, failures=True).perform(Progress())
        fit = FitReward(workspace=root, scene="Push", family="code",
                        config=CodeConfig(source=EXAMPLE)).perform(Progress())
        config = cfg.with_values(RunConfig(scene="Push", eval_episodes=40),
                                 {"ppo.total_steps": steps, "ppo.seed": seed})
        start = time.perf_counter()
        run = Train(workspace=root, config=config).perform(Progress())
        rows.append({"seed": seed, "success_rate": run["success_rate"],
                     "minutes": (time.perf_counter() - start) / 60,
                     "spearman_progress": fit["spearman_progress"]})
        print(json.dumps(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost", action="store_true")
    parser.add_argument("--ppo", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[300, 301, 302])
    parser.add_argument("--steps", type=int, default=400_000)
    args = parser.parse_args()
    if args.cost:
        for row in cost():
            print(json.dumps(row))
    if args.ppo:
        ppo(args.seeds, args.steps)
