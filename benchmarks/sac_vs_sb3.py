"""A workbench SAC run against stable-baselines3's SAC with the same settings, in one script.

The workbench side is what ``workbench train Reach --algorithm sac --reward reference`` runs
(``train_run``: one env, the scene's reference reward, the actor saved as the exported
policy). SB3's SAC gets the same settings (learning rate, discount, target rate, batch,
256x256 networks, 1,000 random steps, one gradient step per env step, automatic entropy) on the
same registered env. Every ``--eval-every`` steps both policies are evaluated by the same
function (``workbench.rl.ppo.evaluate_policy``: 20 deterministic episodes, seeds 10,000+, true
success at the last step). Reported: steps and training wall-clock (evaluation excluded) until
success first reaches 80%, the final success, steps/s.

Run: python benchmarks/sac_vs_sb3.py --framework workbench --seeds 0 1 2 > wb.jsonl
     python benchmarks/sac_vs_sb3.py --framework sb3 --seeds 0 1 2 > sb3.jsonl
     python benchmarks/sac_vs_sb3.py --summarise wb.jsonl sb3.jsonl
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any

import numpy as np
import torch

from workbench.data import Workspace
from workbench.envs.env import make_env
from workbench.envs.registration import env_id
from workbench.rl.ppo import evaluate_policy
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.rl.sac import SACConfig

TARGET = 0.8


class Clock:
    """Training wall-clock: the time spent evaluating is taken out."""

    def __init__(self):
        self.start, self.evaluating = time.perf_counter(), 0.0

    def training_s(self) -> float:
        return time.perf_counter() - self.start - self.evaluating


def run_workbench(scene: str, seed: int, steps: int, every: int) -> dict[str, Any]:
    probe, clock, curve = make_env(scene), Clock(), []

    def evaluate(progress) -> None:
        if progress.step % every == 0:
            began = time.perf_counter()
            rate = evaluate_policy(progress.policy, probe, 20)["success_rate"]
            clock.evaluating += time.perf_counter() - began
            curve.append((progress.step, rate, round(clock.training_s(), 1)))

    config = RunConfig(scene=scene, reward="reference", algorithm="sac", eval_episodes=1,
                       hacking_guard=False, tensorboard=False,
                       sac=SACConfig(her=False, total_steps=steps, seed=seed, log_every=every))
    with tempfile.TemporaryDirectory() as folder, Workspace.open(folder, create=True) as ws:
        train_run(ws, config, callbacks=(evaluate,))
    return {"framework": "workbench", "seed": seed, "curve": curve}


def run_sb3(scene: str, seed: int, steps: int, every: int) -> dict[str, Any]:
    import gymnasium as gym
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    probe, clock, curve = make_env(scene), Clock(), []
    defaults = SACConfig()

    class Policy:
        def __init__(self, model):
            self.model = model

        def act(self, obs):
            return self.model.predict(obs, deterministic=True)[0]

    class Evaluate(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % every == 0:
                began = time.perf_counter()
                rate = evaluate_policy(Policy(self.model), probe, 20)["success_rate"]
                clock.evaluating += time.perf_counter() - began
                curve.append((self.num_timesteps, rate, round(clock.training_s(), 1)))
            return True

    model = SAC("MlpPolicy", gym.make(env_id(scene)), learning_rate=defaults.lr,
                buffer_size=steps, learning_starts=defaults.learning_starts,
                batch_size=defaults.batch_size, tau=defaults.tau, gamma=defaults.gamma,
                train_freq=1, gradient_steps=1,
                policy_kwargs={"net_arch": list(defaults.hidden)}, seed=seed, device="cpu")
    clock.start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=Evaluate())
    return {"framework": "sb3", "seed": seed, "curve": curve}


def summarise(paths: list[str]) -> None:
    rows = [json.loads(line) for path in paths for line in open(path) if line.strip()]
    print("| | steps to 80% (per seed) | seconds to 80% | final success | steps/s |")
    print("| --- | --- | --- | ---: | ---: |")
    for framework in ("workbench", "sb3"):
        runs = [r for r in rows if r["framework"] == framework]
        if not runs:
            continue
        reached = [next(((s, t) for s, rate, t in r["curve"] if rate >= TARGET), None)
                   for r in runs]
        steps = " / ".join(f"{x[0] // 1000}k" if x else "never" for x in reached)
        seconds = " / ".join(f"{x[1]:.0f}" if x else "-" for x in reached)
        final = np.mean([r["curve"][-1][1] for r in runs])
        rate = np.mean([r["curve"][-1][0] / r["curve"][-1][2] for r in runs])
        print(f"| {framework} | {steps} | {seconds} | {final:.2f} | {rate:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=("workbench", "sb3"), default="workbench")
    parser.add_argument("--scene", default="Reach")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--eval-every", type=int, default=2_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--summarise", nargs="+", metavar="JSONL")
    args = parser.parse_args()
    if args.summarise:
        summarise(args.summarise)
        return
    torch.set_num_threads(1)
    run = run_workbench if args.framework == "workbench" else run_sb3
    for seed in args.seeds:
        print(json.dumps(run(args.scene, seed, args.steps, args.eval_every)), flush=True)


if __name__ == "__main__":
    main()
