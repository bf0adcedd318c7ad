"""A preference reward with and without the scene's declared mirror symmetry.

One pool of episodes (scripted, perturbed and random; random alone in a scene without a scripted
demonstrator, such as the locomotion scenes) is recorded once; for each label budget and seed,
an oracle teacher answers that many pairs of 20-step segments (the same answers for both fits),
and two ensembles are fitted: plain, and with ``scene_mirror`` (on a tabletop scene the arm's
yaw, roll and tilt joints and every y coordinate flip under the mirror through the arm's base;
on a legged one, left and right legs swap). Each is
scored on 400 oracle-answered pairs from a separate pool (held-out preference accuracy), and with
``--steps``, PPO trains on it and the policy's true success is measured over 40 episodes.

With ``--online``, the labels are asked while PPO trains instead (``workbench train SCENE
--online-feedback --online-teacher oracle``): the oracle answers pairs of the policy's own
recent segments, ``--labels`` of them over the run, the ensemble refitted as they come.

No setting here is tuned: the mirror is a fact about the scene, not a knob.

Both fits start from the scene's preference defaults (Reach: ``hand_to_target`` alone);
``--inputs`` names other features, ``--inputs`` alone all of them.

Run: python benchmarks/preference_scene_mirror.py [--scene Reach] [--labels 10 25 50 100]
     [--seeds 1 2 3 4 5] [--steps 0] [--online] [--variants plain "scene mirror"]
     [--inputs [FEATURE ...]]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs import make_env, scene_info
from workbench.feedback.labels import teach
from workbench.feedback.teachers import TEACHERS
from workbench.rewards import families
from workbench.rewards.preference import PreferenceConfig
from workbench.rewards.preference.dataset import queries_from_workspace
from workbench.rewards.preference.fit import preference_accuracy
from workbench.rewards.workflow import fit_preference_in_workspace
from workbench.rl.online_reward import OnlineFeedbackConfig
from workbench.rl.ppo import PPOConfig
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.teleop.recorder import random_policy, record_policy_episodes, scripted_policy

VARIANTS = {"plain": False, "scene mirror": True}


def record_pool(folder: Path, scene: str, first_seed: int, per_kind: int) -> Workspace:
    ws = Workspace.open(folder, create=True)
    env = make_env(scene)
    if not scene_info(scene)["demonstrator"]:  # random takes, as the app records there
        record_policy_episodes(env, ws, random_policy(env, first_seed), 3 * per_kind, "random",
                               seed=first_seed)
        env.close()
        return ws
    record_policy_episodes(env, ws, scripted_policy(env, first_seed), per_kind, "scripted",
                           seed=first_seed)
    record_policy_episodes(env, ws, scripted_policy(env, first_seed + 100, True), per_kind,
                           "perturbed", seed=first_seed + 100)
    record_policy_episodes(env, ws, random_policy(env, first_seed + 200), per_kind, "random",
                           seed=first_seed + 200)
    env.close()
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="Reach")
    parser.add_argument("--labels", type=int, nargs="+", default=[10, 25, 50, 100])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--steps", type=int, default=0, help="PPO steps per fit (0: none)")
    parser.add_argument("--online", action="store_true", help="labels asked while PPO trains")
    parser.add_argument("--inputs", nargs="*", default=None,
                        help="the observation features the reward sees (default: the scene's "
                             "preference_options; --inputs alone: all of them)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = families.get("preference").default_config(args.scene)
    if args.inputs is not None:
        start = replace(start, inputs=tuple(args.inputs))
    if args.online:
        online(args, start)
        return
    with tempfile.TemporaryDirectory() as root:
        base = record_pool(Path(root) / "pool", args.scene, 0, 15)
        base.close()
        test = record_pool(Path(root) / "test", args.scene, 5000, 10)
        teach(test, args.scene, TEACHERS["oracle"], 400, np.random.default_rng(5000))
        held = queries_from_workspace(test)
        for labels in args.labels:
            for seed in args.seeds:
                folder = Path(root) / f"{labels}-{seed}"
                shutil.copytree(Path(root) / "pool", folder)
                ws = Workspace.open(folder)
                teach(ws, args.scene, TEACHERS["oracle"], labels, np.random.default_rng(seed))
                for name in args.variants:
                    config = replace(start, seed=seed, scene_mirror=VARIANTS[name])
                    model, report = fit_preference_in_workspace(ws, args.scene, config,
                                                                held_out_fraction=0.0)
                    row = {"scene": args.scene, "labels": labels, "seed": seed,
                           "variant": name,
                           "held_out_accuracy": round(preference_accuracy(model, held), 4)}
                    if args.steps:
                        result = train_run(ws, RunConfig(
                            scene=args.scene, reward="model", reward_model=report["path"],
                            eval_episodes=40, hacking_guard=False, tensorboard=False,
                            checkpoint_every=0,
                            ppo=PPOConfig(total_steps=args.steps, seed=seed)))
                        row["success"] = result["success_rate"]
                        row["reference_return"] = round(result["mean_return"], 2)
                    print(json.dumps(row), flush=True)
                ws.close()
        test.close()


def online(args: argparse.Namespace, start: PreferenceConfig) -> None:
    """Each seed and variant: one run from an empty workspace, its labels asked as it trains."""
    for labels in args.labels:
        for seed in args.seeds:
            for name in args.variants:
                preference = replace(OnlineFeedbackConfig().preference, seed=seed,
                                     scene_mirror=VARIANTS[name], inputs=start.inputs)
                with tempfile.TemporaryDirectory() as root:
                    ws = Workspace.open(Path(root) / "ws", create=True)
                    result = train_run(ws, RunConfig(
                        scene=args.scene, online_feedback=True, online_teacher="oracle",
                        online=OnlineFeedbackConfig(total_labels=labels, seed=seed,
                                                    preference=preference),
                        eval_episodes=40, tensorboard=False, checkpoint_every=0,
                        ppo=PPOConfig(total_steps=args.steps or 200_000, seed=seed)))
                    ws.close()
                print(json.dumps({"scene": args.scene, "online_labels": labels, "seed": seed,
                                  "variant": name, "success": result["success_rate"],
                                  "reference_return": round(result["mean_return"], 2),
                                  "hacking_alarm": result.get("hacking_alarm")}),
                      flush=True)


if __name__ == "__main__":
    main()
