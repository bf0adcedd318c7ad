"""Where does a learned frame reward pay for states the scene does not count as progress?

Two views of one fitted model, in a fresh workspace with ``--demos`` scripted demos and their
failed takes (``--demos // 2`` random, ``--demos`` perturbed):

* The policy's episodes (the default): a perceptual progress model fitted under the scene's
  defaults, PPO on it (default settings, ``--steps``, ``--seed``), the policy exported and run
  5 episodes recorded; every recorded episode is scored by the model, one JSON line each with
  its source, true progress (max, final) and learned progress (max, final, quartiles).
* A goal-conditioned policy's episodes (scenes whose sentence chooses, ``Task.goal_choices``,
  e.g. PushChoice, without ``--scattered``): a vision-language model fitted under the scene's
  defaults, PPO on it towards ``--goal`` (distilled scoring, as ``language_to_policy.py``), then
  ``--episodes`` episodes of the policy with each choice named in turn (seeds 30,000+). One JSON
  line per episode: how it ended (``success``; ``other``: the cube on the other pad; ``short``:
  moved towards the named pad and stopped short; ``wrong_way``: moved but not closer to it;
  ``untouched``), the cube's distances to both pads, and the model's score of its last frames
  (and its highest) under the named and the other sentence, and, where the model reads the
  state through a probe, the relations to the named thing it reads from the last frame beside
  the true ones; then one summary line per choice.
  ``--workspace DIR`` keeps the workspace, and a later call on it reuses its model and policy.
* Scattered states (``--scattered N``, for scenes whose sentence chooses between things,
  ``Task.goal_choices``, e.g. PushChoice): a vision-language model fitted under the scene's
  defaults (as ``language_to_policy.py --reward vision-language`` does), then N states the
  scene scatters (``Task.scatter``, seeds no fit used), each scored under the sentence naming
  each choice in turn. One JSON line per choice: how often a state scores over 0.5 while the
  moved thing is more than ``--far`` from the named one (a reward a policy could collect
  without doing the task), the mean score of the states with the hand more than 10 cm from
  the thing it moves, the Spearman correlation of the score with closeness to the named one,
  and (a model with a probe) the probe's error reading that distance where it is under 3.5 cm.

Run: python benchmarks/frame_reward_diagnosis.py [--scene DrawerOpen] [--seed 201]
     [--steps 400000]
     python benchmarks/frame_reward_diagnosis.py --scene PushChoice --demos 5 --steps 800000
     --seed 106 --goal "push the cube onto the green pad" [--workspace DIR] [--hindsight 0]
     python benchmarks/frame_reward_diagnosis.py --scene PushChoice --demos 5 --scattered 300
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace

import numpy as np
import torch
from scipy.stats import spearmanr

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs.env import make_env
from workbench.envs.replay import EpisodeReplay, env_for, with_frames
from workbench.export.runner import run_in_sim
from workbench.export.workflow import export_run
from workbench.registry import SCENES
from workbench.rewards.artifact import load_reward_model
from workbench.rewards.perceptual.model import to_tensor
from workbench.rewards.perceptual.pretrain import (
    relation_names,
    relation_slices,
    scattered_frames,
    state_layout,
)
from workbench.rewards.vision_language import VisionLanguageConfig
from workbench.rewards.workflow import (
    fit_perceptual_in_workspace,
    fit_vision_language_in_workspace,
    perceptual_defaults,
    vision_language_defaults,
)
from workbench.rl.policy import load_policy
from workbench.rl.ppo import PPOConfig
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.sentences import rebind
from workbench.teleop.recorder import record_demo_set, record_policy_episodes

SCATTER_SEED = 7_919  # not a seed any fit or pretraining draws its frames from
WATCH_SEED = 30_000  # the diagnosed episodes' layouts: not the run's evaluation seeds
ON_PAD = 0.04  # the pad's radius: a cube this near the other pad went to the wrong one
MOVED = 0.02  # a cube that moved less than this was not pushed
ENDINGS = ("success", "other", "short", "wrong_way", "untouched")
NEAR_GOAL = 0.035  # metres, height included: on the named thing or just off its success radius


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


def vision_language_config(args: argparse.Namespace) -> VisionLanguageConfig:
    """The scene's defaults, with ``--hindsight`` frames per take where it is given."""
    config = vision_language_defaults(args.scene)
    if args.hindsight is None:
        return config
    return replace(config, frames=replace(config.frames, hindsight=args.hindsight))


def choice_policy_episodes(ws: Workspace, args: argparse.Namespace) -> None:
    """Train a goal-conditioned policy on a vision-language reward (or reuse the workspace's),
    run it with each choice named, and say how each episode ended and what the model paid."""
    task = SCENES.load(args.scene)
    runs = [r for r in ws.runs(scene=args.scene) if os.path.exists(f"{r['path']}/policy")]
    if runs:
        run_path, reward_path = runs[-1]["path"], runs[-1]["metrics"]["reward"]
    else:
        _, stored = fit_vision_language_in_workspace(
            ws, args.scene, vision_language_config(args), held_out_fraction=0.0)
        reward_path = stored["path"]
        result = train_run(ws, RunConfig(
            scene=args.scene, goal=args.goal, reward="model", reward_model=reward_path,
            eval_episodes=40, hacking_guard=False, tensorboard=False, checkpoint_every=0,
            ppo=PPOConfig(total_steps=args.steps, seed=args.seed)))
        run_path = result["path"]
        print(json.dumps({"seed": args.seed, "goal": args.goal,
                          "success_named": result["success_rate"], **result["goal_success"]}),
              flush=True)
    # The reward as the run last read it, where the run refitted its probe (the endings' probe
    # readings are then that probe's, the one the policy was trained against).
    as_read = f"{run_path}/reward"
    model = load_reward_model(as_read if os.path.exists(as_read) else reward_path)
    policy, _ = load_policy(f"{run_path}/policy")
    env = make_env(args.scene, goal=args.goal)
    for role in task.goal_choices:
        for colour in task.goal_colours[role]:
            env.set_goal(rebind(args.goal, task, {role: colour}))
            ids = record_policy_episodes(env, ws, lambda _env, obs: policy.act(obs),
                                         args.episodes, "policy", seed=WATCH_SEED)
            rows = [{"layout": WATCH_SEED + k, **episode_ending(ws, i, model, task, role, colour)}
                    for k, i in enumerate(ids)]  # the same layouts with each choice named
            for row in rows:
                print(json.dumps(row), flush=True)
            summary: dict = {"named": f"{role}={colour}", "episodes": len(rows)}
            for kind in ENDINGS:  # how many ended so, and what the model paid them
                these = [r for r in rows if r["ended"] == kind]
                summary[kind] = len(these)
                if these:
                    summary[f"{kind}_scores"] = [
                        round(float(np.mean([r[k] for r in these])), 3)
                        for k in ("named_final", "other_final")]
                    read = [v for r in these for k, v in r.items()
                            if k.endswith(f"to_{colour}_{role} length (true, read)")]
                    if read:  # how far off the probe reads the distance to the named one
                        summary[f"{kind}_probe_error"] = round(float(np.mean(
                            [b - a for a, b in read])), 4)
            print(json.dumps(summary), flush=True)
    env.close()


def seen_states(episode) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
    """The scene's seen state (by name) at each step of a recorded episode, and the last one
    as the probe's vector."""
    env = env_for(episode)
    replay = EpisodeReplay(env)
    seen = []
    for t in range(len(episode)):
        replay.show(episode, t)
        state = env.task.seen_state(env.physics)  # some entries are views of the simulator's
        seen.append({k: np.array(v) for k, v in state.items()})
    last_state = env.seen_state_vector().copy()
    env.close()
    return seen, last_state


def episode_ending(ws: Workspace, episode_id: int, model, task, role: str, colour: str
                   ) -> dict:
    """How one recorded episode ended, and the model's scores of it under both sentences."""
    episode = ws.load_episode(episode_id)
    seen, last_state = seen_states(episode)
    other = next(c for c in task.goal_colours[role] if c != colour)
    cube = np.array([s["cube_pos"][:2] for s in seen])
    to_named = np.linalg.norm([s[f"cube_to_{colour}_{role}"][:2] for s in seen], axis=1)
    to_other = np.linalg.norm([s[f"cube_to_{other}_{role}"][:2] for s in seen], axis=1)
    moved = float(np.linalg.norm(cube[-1] - cube[0]))
    hand_to_cube = np.linalg.norm([s["hand_to_cube"] for s in seen], axis=1)
    success = bool(episode.meta["success"])
    if success:
        ended = "success"
    elif to_other[-1] < ON_PAD:
        ended = "other"
    elif moved < MOVED:
        ended = "untouched"
    elif to_named[-1] < to_named[0] - 0.01:
        ended = "short"
    else:
        ended = "wrong_way"
    frames = with_frames(episode, tuple(model.cameras), model.frame_config.image_size)
    frames = model.frames_of(frames)
    goal = rebind(episode.meta["goal"], task, {role: colour})
    named_score = model.progress(frames, goal)
    other_score = model.progress(frames, rebind(goal, task, {role: other}))
    read = {}  # the relations the model's probe reads from the last frame, and the true ones
    if (probed := probe_readings(model, frames[-1:], last_state[None])) is not None:
        names, true, seen_now = probed
        read = {f"{name} (true, read)": [round(float(a), 3), round(float(b), 3)]
                for name, a, b in zip(names, true[0], seen_now[0], strict=True) if colour in name}
    return {
        "episode": episode_id, "named": f"{role}={colour}", "ended": ended, **read,
        "cube_to_named": [round(float(to_named[0]), 3), round(float(to_named[-1]), 3)],
        "cube_to_other": [round(float(to_other[0]), 3), round(float(to_other[-1]), 3)],
        "cube_moved": round(moved, 3),
        # Where the hand went: its distance to the cube after the first step (a take's states
        # are those each step reached), at the closest and at the end.
        "hand_to_cube (step 1, min, last)": [round(float(d), 3) for d in (
            hand_to_cube[0], hand_to_cube.min(), hand_to_cube[-1])],
        "named_first": round(float(named_score[0]), 3),
        "named_final": round(float(named_score[-5:].mean()), 3),
        "named_max": round(float(named_score.max()), 3),
        "other_final": round(float(other_score[-5:].mean()), 3),
        "other_max": round(float(other_score.max()), 3),
    }


def probe_readings(model, frames: np.ndarray, states: np.ndarray
                   ) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """(relation names, true, read): the relations between things in the seen ``states`` and
    those the model's probe reads from ``frames``; None for a model without a probe."""
    net = model.net
    if getattr(net, "layout", None) is None:
        return None
    with torch.no_grad():
        true = net.relations_of(torch.as_tensor(states, dtype=torch.float32, device=model.device))
        read = torch.cat([net.relations_of(net.read_state(to_tensor(
            frames[i : i + 128], model.frame_config.image_size, model.device)))
            for i in range(0, len(frames), 128)])
    return relation_names(net.layout, net.heights), true.cpu().numpy(), read.cpu().numpy()


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
        ws, args.scene, vision_language_config(args), held_out_fraction=0.0)
    frames, states = scattered_frames(args.scene, tuple(model.cameras), args.scattered,
                                      model.frame_config.image_size, SCATTER_SEED)
    distances = seen_distances(args.scene, states)
    hand_away = next(d for n, d in distances.items() if n.startswith("hand_to_")) > 0.10
    probed = probe_readings(model, frames, states)
    for role in task.goal_choices:
        for colour in task.goal_colours[role]:
            sentence = rebind(task.goal_examples[0], task, {role: colour})
            score = model.progress(frames, sentence)
            to_named = next(d for n, d in distances.items() if n.endswith(f"to_{colour}_{role}"))
            far = to_named > args.far
            near = {}  # how the probe reads that distance where the goal is nearly reached
            if probed is not None:
                names, true, read = probed
                j = next(i for i, n in enumerate(names)
                         if n.endswith(f"to_{colour}_{role} length"))
                close = true[:, j] < NEAR_GOAL
                error = read[close, j] - true[close, j]
                near = {"probe_near_goal": {"states": int(close.sum()),
                                            "signed_error": round(float(error.mean()), 4),
                                            "abs_error": round(float(np.abs(error).mean()), 4)}}
            print(json.dumps({**near,
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
    parser.add_argument("--goal", default="push the cube onto the green pad",
                        help="the run's sentence, for scenes whose sentence chooses")
    parser.add_argument("--episodes", type=int, default=20,
                        help="policy episodes diagnosed per choice named")
    parser.add_argument("--workspace", help="keep the workspace here (reused if it has a run)")
    parser.add_argument("--hindsight", type=int, help="hindsight frames per take of the "
                        "vision-language fit (default: the scene's; 0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.workspace or scratch
        ws = Workspace.open(folder, create=True)
        if not ws.episodes(scene=args.scene):
            record_demo_set(ws, args.scene, args.demos)
        if args.scattered:
            scattered_scores(ws, args)
        elif SCENES.load(args.scene).goal_choices:
            choice_policy_episodes(ws, args)
        else:
            policy_episodes(ws, folder, args)
        ws.close()


if __name__ == "__main__":
    main()
