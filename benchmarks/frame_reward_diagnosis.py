"""Where does a learned frame reward pay for states the scene does not count as progress?

Two views of one fitted model, in a fresh workspace with ``--demos`` scripted demos and their
failed takes (``--demos // 2`` random, ``--demos`` perturbed):

* The policy's episodes (the default): a perceptual progress model fitted under the scene's
  defaults, PPO on it (default settings, ``--steps``, ``--seed``), the policy exported and run
  5 episodes recorded; every recorded episode is scored by the model, one JSON line each with
  its source, true progress (max, final) and learned progress (max, final, quartiles).
* Scattered states (``--scattered N``, for scenes whose sentence chooses between things,
  ``Task.goal_choices``, e.g. PushChoice): a vision-language model fitted under the scene's
  defaults (as ``language_to_policy.py --reward vision-language`` does), then N states the
  scene scatters (``Task.scatter``, seeds no fit used), each scored under the sentence naming
  each choice in turn. One JSON line per choice: how often a state scores over 0.5 while the
  moved thing is more than ``--far`` from the named one (a reward a policy could collect
  without doing the task), the mean score of the states with the hand more than 10 cm from
  the thing it moves, and the Spearman correlation of the score with closeness to the named
  one.

Run: python benchmarks/frame_reward_diagnosis.py [--scene DrawerOpen] [--seed 201]
     [--steps 400000]
     python benchmarks/frame_reward_diagnosis.py --scene PushChoice --demos 5 --scattered 300
"""

from __future__ import annotations

import argparse
import json
import tempfile

import numpy as np
from scipy.stats import spearmanr

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs.replay import with_frames
from workbench.export.runner import run_in_sim
from workbench.export.workflow import export_run
from workbench.registry import SCENES
from workbench.rewards.perceptual.pretrain import (
    relation_slices,
    scattered_frames,
    state_layout,
)
from workbench.rewards.workflow import (
    fit_perceptual_in_workspace,
    fit_vision_language_in_workspace,
    perceptual_defaults,
    vision_language_defaults,
)
from workbench.rl.ppo import PPOConfig
from workbench.rl.run import RunConfig, train_run
from workbench.sentences import rebind
from workbench.teleop.recorder import record_demo_set

SCATTER_SEED = 7_919  # not a seed any fit or pretraining draws its frames from


def policy_episodes(ws: Workspace, folder: str, args: argparse.Namespace) -> None:
    """Train on a perceptual reward, run the policy, score every recorded episode."""
    model, _ = fit_perceptual_in_workspace(ws, args.scene, perceptual_defaults(args.scene),
                                           held_out_fraction=0.0)
    result = train_run(ws, RunConfig(
        scene=args.scene, reward="latest", eval_episodes=10, hacking_guard=False,
        tensorboard=False, checkpoint_every=0,
        ppo=PPOConfig(total_steps=args.steps, seed=args.seed)))
    print(json.dumps({"seed": args.seed, "success_rate": result["success_rate"]}), flush=True)
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


def seen_distances(scene: str, states: np.ndarray) -> dict[str, np.ndarray]:
    """Lengths of the vectors between two things (``a_to_b``) in the seen state, by name."""
    layout = state_layout(scene)
    vectors, _ = relation_slices(layout)
    names = [name for name in layout if "_to_" in name]  # relation_slices' order
    return {name: np.linalg.norm(states[:, where], axis=1)
            for name, where in zip(names, vectors, strict=True)}


def scattered_scores(ws: Workspace, args: argparse.Namespace) -> None:
    """Score scattered states under the sentence naming each choice in turn."""
    task = SCENES.load(args.scene)
    if not task.goal_choices:
        raise SystemExit(f"--scattered: {args.scene} has no goal choices (Task.goal_choices); "
                         "use a scene whose sentence chooses, e.g. PushChoice")
    model, _ = fit_vision_language_in_workspace(
        ws, args.scene, vision_language_defaults(args.scene), held_out_fraction=0.0)
    frames, states = scattered_frames(args.scene, tuple(model.cameras), args.scattered,
                                      model.frame_config.image_size, SCATTER_SEED)
    distances = seen_distances(args.scene, states)
    hand_away = next(d for n, d in distances.items() if n.startswith("hand_to_")) > 0.10
    for role in task.goal_choices:
        for colour in task.goal_colours[role]:
            sentence = rebind(task.goal_examples[0], task, {role: colour})
            score = model.progress(frames, sentence)
            to_named = next(d for n, d in distances.items() if n.endswith(f"to_{colour}_{role}"))
            far = to_named > args.far
            print(json.dumps({
                "sentence": sentence, "states": len(frames),
                "high_while_far": round(float(np.mean((score > 0.5) & far)), 4),
                "far_states": int(far.sum()),
                "hand_away_mean": round(float(score[hand_away & far].mean()), 3),
                "hand_away_states": int((hand_away & far).sum()),
                "spearman_closeness": round(float(spearmanr(score, -to_named)[0]), 3)}),
                flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="DrawerOpen")
    parser.add_argument("--seed", type=int, default=201)
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--demos", type=int, default=1)
    parser.add_argument("--scattered", type=int, default=0,
                        help="score this many scattered states instead of training")
    parser.add_argument("--far", type=float, default=0.06,
                        help="metres from the named thing that count as not done")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace.open(folder, create=True)
        record_demo_set(ws, args.scene, args.demos)
        if args.scattered:
            scattered_scores(ws, args)
        else:
            policy_episodes(ws, folder, args)
        ws.close()


if __name__ == "__main__":
    main()
