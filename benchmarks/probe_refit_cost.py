"""What refitting a frame reward's probe costs a distilled run (``distill.refit_probe``).

The same vision-language reward, the same PushChoice vector envs (8, the PPO default) and
random actions: a distilled run's rollouts of 1,024 steps and its refit after each, with the
probe refitted (the default for this goal-conditioned reward) and without. The reward is the
newest vision-language model of ``--workspace`` (fit one with ``workbench train-reward
PushChoice --family vision_language`` or take the workspace ``frame_reward_diagnosis.py
--workspace DIR`` keeps). The first updates score frames directly in both (the student needs
labels), so ``--updates`` should be well past them; the refit's share of the wall-clock is
what the probe adds to a run (PPO's own update, the same in both, is not in it).

Run: python benchmarks/probe_refit_cost.py --workspace DIR [--updates 30]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs.frames import RenderedFrames
from workbench.rewards.artifact import load_reward_model
from workbench.rl.distill import DistillConfig, DistilledFrameReward
from workbench.rl.ppo import make_vector_env

GOAL = "push the cube onto the green pad"


def timed_run(path: str, probe: str, updates: int) -> dict[str, float]:
    model = load_reward_model(path).for_goal(GOAL)
    cameras, size = model.cameras, model.frame_config.image_size
    envs = make_vector_env("workbench/PushChoice-v0", 8, {"goal": GOAL, "draw_choices": True},
                           wrap=lambda env: RenderedFrames(env, cameras, size))
    start = time.perf_counter()
    distilled = DistilledFrameReward(envs, model, config=DistillConfig(refit_probe=probe))
    setup = time.perf_counter() - start
    rng = np.random.default_rng(0)
    distilled.reset(seed=0)
    stepping = refitting = 0.0
    for _ in range(updates):
        start = time.perf_counter()
        for _ in range(1024 // distilled.num_envs):
            distilled.step(rng.uniform(-1, 1, (distilled.num_envs,
                                               *distilled.single_action_space.shape)))
        stepping += time.perf_counter() - start
        start = time.perf_counter()
        distilled.refit()
        refitting += time.perf_counter() - start
    distilled.close()
    return {"probe": probe, "setup_s": round(setup, 1), "steps_s": round(stepping, 1),
            "refits_s": round(refitting, 1), "updates": updates,
            "direct_updates_left": int(distilled.direct)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--updates", type=int, default=30)
    args = parser.parse_args()
    workspace = Workspace.open(args.workspace)
    path = [m for m in workspace.models("PushChoice")
            if m["family"] == "vision_language_progress"][-1]["path"]
    rows = [timed_run(path, probe, args.updates) for probe in ("off", "on")]
    for row in rows:
        print(json.dumps(row), flush=True)
    off, on = ((r["steps_s"] + r["refits_s"]) for r in rows)
    print(json.dumps({"rollouts_and_refits_on_over_off": round(on / off, 2)}))


if __name__ == "__main__":
    main()
