"""What does a policy trained on a one-demo perceptual reward do, as the reward sees it?

In a fresh workspace: 1 scripted demo and its failed takes (1 random, 1 perturbed), a
perceptual progress model fitted under the scene's defaults, PPO on it (default settings,
``--steps``, ``--seed``), the policy exported and run 5 episodes recorded. Every recorded
episode is then scored by the model: one JSON line each with its source, true progress (max,
final) and learned progress (max, final, quartiles), which shows where the model pays for
states the scene does not count as progress.

Run: python benchmarks/frame_reward_diagnosis.py [--scene DrawerOpen] [--seed 201]
     [--steps 400000]
"""

from __future__ import annotations

import argparse
import json
import tempfile

import numpy as np

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs.replay import with_frames
from workbench.export.runner import run_in_sim
from workbench.export.workflow import export_run
from workbench.rewards.workflow import fit_perceptual_in_workspace, perceptual_defaults
from workbench.rl.ppo import PPOConfig
from workbench.rl.run import RunConfig, train_run
from workbench.teleop.recorder import record_demo_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="DrawerOpen")
    parser.add_argument("--seed", type=int, default=201)
    parser.add_argument("--steps", type=int, default=400_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace.open(folder, create=True)
        record_demo_set(ws, args.scene, 1)
        model, _ = fit_perceptual_in_workspace(ws, args.scene, perceptual_defaults(args.scene),
                                               held_out_fraction=0.0)
        result = train_run(ws, RunConfig(
            scene=args.scene, reward="latest", eval_episodes=10, hacking_guard=False,
            tensorboard=False, checkpoint_every=0,
            ppo=PPOConfig(total_steps=args.steps, seed=args.seed)))
        print(json.dumps({"seed": args.seed, "success_rate": result["success_rate"]}),
              flush=True)
        export_run(result["path"], f"{folder}/bundle")
        run_in_sim(f"{folder}/bundle", episodes=5, seed=30_000, record=ws)
        for row in ws.episodes(scene=args.scene):
            episode = with_frames(ws.load_episode(row["id"]), tuple(model.cameras),
                                  model.frame_config.image_size)
            learned, truth = model.progress_episode(episode), np.asarray(episode["progress"])
            print(json.dumps({
                "source": row["source"], "success": bool(row["success"]),
                "truth_max": round(float(truth.max()), 3),
                "truth_final": round(float(truth[-1]), 3),
                "learned_max": round(float(learned.max()), 3),
                "learned_final": round(float(learned[-5:].mean()), 3),
                "learned_quartiles": [round(float(q), 2)
                                      for q in np.quantile(learned, [0.25, 0.5, 0.75])]}),
                flush=True)
        ws.close()


if __name__ == "__main__":
    main()
