"""Language to policy: PPO on a goal sentence's grounded reward in PushChoice, where the sentence
chooses between a green and a blue pad, and the one policy is then asked for either pad.

Each run is ``workbench train PushChoice --goal "push the cube onto the blue pad"``: the
training envs draw the named pad per episode (the sentence's choice is part of the observation,
``target_pos``), so one goal-conditioned policy learns both; evaluation asks for each pad in
turn on the same seeded layouts (40 episodes each), then swaps the sentence. Seeds here are
not the ones any setting was tuned on (nothing was tuned for this benchmark).

``--reward vision-language`` trains on a learned reward instead of the grounded one: in the
fresh workspace the "user" records ``--demos`` scripted demos (each with its goal text, the pad
drawn per take) and the failed takes beside them, a vision-language progress model is fitted on
their frames under the scene's defaults, and the same run trains on it, each episode's frames
scored towards that episode's sentence: ``--scoring distilled`` (the default, as on any frame
reward; the line says how many updates the frame reward scored directly because the state
student disagreed) or ``direct`` (every step rendered and scored).

Run: python benchmarks/language_to_policy.py [--steps 400000] [--seeds 3] [--first-seed 100]
     [--reward grounded|vision-language] [--demos 5] [--scoring distilled|direct]
     [--hindsight N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace

from pixels_to_policy import distill_summary

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.rewards.workflow import fit_vision_language_in_workspace, vision_language_defaults
from workbench.rl.ppo import PPOConfig
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.teleop.recorder import record_demo_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--goal", default="push the cube onto the blue pad")
    parser.add_argument("--reward", choices=("grounded", "vision-language"), default="grounded")
    parser.add_argument("--demos", type=int, default=5)
    parser.add_argument("--scoring", choices=("distilled", "direct"), default="distilled")
    parser.add_argument("--hindsight", type=int, help="hindsight frames per take of the "
                        "vision-language fit (default: the scene's; 0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.open(folder, create=True)
        reward = "grounded"
        if args.reward == "vision-language":
            start = time.perf_counter()
            record_demo_set(workspace, "PushChoice", args.demos)
            config = vision_language_defaults("PushChoice")
            if args.hindsight is not None:
                config = replace(config, frames=replace(config.frames, hindsight=args.hindsight))
            _, stored = fit_vision_language_in_workspace(workspace, "PushChoice", config,
                                                         held_out_fraction=0.0)
            reward = stored["path"]
            demos = [row for row in workspace.episodes(scene="PushChoice")
                     if row["source"] == "scripted"]
            print(json.dumps({
                "fit": "vision_language", "demos": len(demos),
                "goals": [workspace.load_episode(r["id"]).meta["goal"] for r in demos],
                "seconds": round(time.perf_counter() - start, 1)}), flush=True)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            model = {"reward": "model", "reward_model": reward} if reward != "grounded" else {
                "reward": reward}
            config = RunConfig(scene="PushChoice", goal=args.goal, **model,
                               eval_episodes=40, hacking_guard=False, tensorboard=False,
                               checkpoint_every=0, frame_scoring=args.scoring,
                               ppo=PPOConfig(total_steps=args.steps, seed=seed))
            start = time.perf_counter()
            result = train_run(workspace, config)
            print(json.dumps({
                "seed": seed, "goal": args.goal, "reward": args.reward,
                "scoring": args.scoring if reward != "grounded" else None,
                "success_named": result["success_rate"], **result["goal_success"],
                "seconds": round(time.perf_counter() - start, 1),
                **distill_summary(result["path"]),
            }), flush=True)


if __name__ == "__main__":
    main()
