"""Pixels to policy: PPO on a perceptual reward fitted from one demonstration, against PPO on
the scene's reference dense reward, same budget and seeds.

Per scene, in a fresh workspace: the "user" records 1 scripted demonstration and the failed
takes beside it (1 random, 1 perturbed), a perceptual progress model is fitted on their frames
under the scene's defaults (two fixed 64x64 cameras; the encoder pretraining is cached on disk
after the first fit), and PPO (default settings, 8 envs) trains on it, rendering frames as
``--scoring`` says: ``distilled`` (a state student scores most steps, see
``workbench.rl.distill``) or ``direct`` (every step rendered and scored). Each policy is
evaluated by true success over 40 seeded episodes. One JSON line per fit and per run.

``--rounds 2`` continues as a user who watches the policy fail would: the learned run's policy
is exported and run ``--watch`` episodes in simulation, recorded into the workspace
(``workbench run BUNDLE --record WS``, source "policy"); its failed episodes join the failed
takes, the perceptual reward is fitted again and a fresh run (same seed and budget) trains on
it. With ``--takeover-at T`` the user also takes over: in each watched episode the policy has
not finished by tick ``T``, the scene's scripted demonstrator (standing in for a person at the
keyboard) drives the rest; such a take is recorded as source "takeover", and one that ends in
success counts as a demonstration.

Run: python benchmarks/pixels_to_policy.py [--scenes Push DrawerOpen] [--seeds 3]
     [--first-seed 200] [--steps 400000] [--scoring distilled] [--only learned|reference]
     [--rounds 1] [--watch 10] [--takeover-at 0] [--cluster auto]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any

import numpy as np

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs.env import make_env
from workbench.export.runner import OnnxPolicy, run_in_sim
from workbench.export.workflow import export_run
from workbench.rewards.workflow import fit_perceptual_in_workspace, perceptual_defaults
from workbench.rl.ppo import PPOConfig
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.teleop.recorder import Recorder, record_demo_set, scripted_policy


def distill_summary(run_dir: str) -> dict[str, Any]:
    """Share of steps rendered, updates scored directly, last agreement, a refitted probe's
    error (from the run log)."""
    rows = [json.loads(line) for line in open(f"{run_dir}/metrics.jsonl")]
    rendered = [r["distill/rendered"] for r in rows if "distill/rendered" in r]
    direct = [r["distill/direct"] for r in rows if "distill/direct" in r]
    agreement = [r["distill/agreement"] for r in rows if "distill/agreement" in r]
    probe = [r["distill/probe_error"] for r in rows if "distill/probe_error" in r]
    if not rendered:
        return {}
    # A refitted probe: its error on each update's new states, over the first and last ten.
    refit = ({"probe_error_first": round(float(np.mean(probe[:10])), 4),
              "probe_error_last": round(float(np.mean(probe[-10:])), 4)} if probe else {})
    return {"rendered_share": round(float(np.mean(rendered)), 3),
            "direct_updates": int(sum(direct)), "updates": len(direct),
            "last_agreement": round(agreement[-1], 3) if agreement else None, **refit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=["Push", "DrawerOpen"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=200)
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--scoring", choices=("distilled", "direct"), default="distilled")
    parser.add_argument("--only", choices=("learned", "reference"))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--watch", type=int, default=10)
    parser.add_argument("--takeover-at", type=int, default=0,
                        help="watched episodes: a scripted person takes over at this tick")
    parser.add_argument("--cluster", help="train each seed's runs as Ray Tune trials of one "
                        "CPU there (auto: a local Ray); rounds of 1 only")
    args = parser.parse_args()
    if args.cluster and args.rounds > 1:
        parser.error("--cluster: a later round refits on the policy of the one before, so "
                     "rounds run here; give --rounds 1")
    for scene in args.scenes:
        with tempfile.TemporaryDirectory() as folder:
            workspace = Workspace.open(folder, create=True)
            start = time.perf_counter()
            record_demo_set(workspace, scene, 1)
            if args.only != "reference":  # the reference reward needs no fitted model
                fit(workspace, scene, start)
            if args.cluster:
                from workbench.rl.sweep import map_trials

                runs = [{"workspace": folder, "scene": scene, "reward": reward, "seed": seed,
                         "steps": args.steps, "scoring": args.scoring}
                        for seed in range(args.first_seed, args.first_seed + args.seeds)
                        for reward, kind in (("latest", "learned"), ("reference", "reference"))
                        if args.only in (None, kind)]
                for record in map_trials(one_train, runs, args.cluster, name="pixels_to_policy"):
                    print(json.dumps(record), flush=True)
                continue
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for reward in ("latest", "reference"):
                    kind = "learned" if reward == "latest" else "reference"
                    if args.only and args.only != kind:
                        continue
                    run_dir = train(workspace, scene, reward, seed, args, 1)
                    for round_ in range(2, (args.rounds if kind == "learned" else 1) + 1):
                        # watch the last policy fail, refit on its failures, train afresh
                        watch_and_refit(workspace, scene, run_dir, args.watch,
                                        f"{folder}/bundle-{seed}-{round_}", args.takeover_at)
                        run_dir = train(workspace, scene, reward, seed, args, round_)


def fit(workspace: Workspace, scene: str, start: float) -> None:
    _, report = fit_perceptual_in_workspace(
        workspace, scene, perceptual_defaults(scene), held_out_fraction=0.0)
    print(json.dumps({"scene": scene, "train_demos": report["train_demos"],
                      "train_negatives": report["train_negatives"],
                      "fit_seconds": round(time.perf_counter() - start, 1)}), flush=True)


def watch_and_refit(workspace: Workspace, scene: str, run_dir: str, episodes: int,
                    bundle: str, takeover_at: int) -> None:
    start = time.perf_counter()
    export_run(run_dir, bundle)
    if takeover_at:
        watched = watch_with_a_person(workspace, bundle, episodes, takeover_at)
    else:
        watched = run_in_sim(bundle, episodes=episodes, seed=30_000, record=workspace)
    print(json.dumps({"scene": scene, "watched": watched["episodes"],
                      "watched_success": watched["success_rate"],
                      "taken_over": watched.get("taken_over"),
                      "finished_by_the_person": watched.get("finished")}), flush=True)
    fit(workspace, scene, start)


def watch_with_a_person(workspace: Workspace, bundle: str, episodes: int, at: int
                        ) -> dict[str, Any]:
    """The bundle's policy drives each episode; where it has not succeeded by tick ``at``, the
    scripted demonstrator takes over (each take recorded, its ticks marked as the person's)."""
    policy = OnnxPolicy(bundle)
    meta = policy.meta
    env = make_env(meta["scene"], control_mode=meta["control_mode"])
    recorder = Recorder(env, workspace, "takeover")
    successes, taken, finished = [], 0, 0
    for i in range(episodes):
        obs, person, done, tick = recorder.start(seed=30_000 + i), None, False, 0
        while not done:
            if person is None and tick >= at and not recorder.success:
                person = scripted_policy(env, seed=i)
            action = (person(env, obs) if person is not None
                      else np.clip(policy.act(np.asarray(obs, np.float32)), -1.0, 1.0))
            obs, _, terminated, truncated, info = recorder.step(action, human=person is not None)
            done, tick = terminated or truncated, tick + 1
        successes.append(bool(info["success"]))
        taken += person is not None
        finished += person is not None and successes[-1]
        recorder.save()
    recorder.close()
    env.close()
    return {"episodes": episodes, "success_rate": float(np.mean(successes)),
            "taken_over": taken, "finished": finished}


def train(workspace: Workspace, scene: str, reward: str, seed: int, args: argparse.Namespace,
          round_: int) -> str:
    """One run, its line printed; its folder."""
    record = train_record(workspace, scene, reward, seed, args.steps, args.scoring, round_)
    path = record.pop("path")
    print(json.dumps(record), flush=True)
    return path


def train_record(workspace: Workspace, scene: str, reward: str, seed: int, steps: int,
                 scoring: str, round_: int) -> dict[str, Any]:
    kind = "learned" if reward == "latest" else "reference"
    config = RunConfig(
        scene=scene, reward=reward, eval_episodes=40, hacking_guard=False, tensorboard=False,
        checkpoint_every=0, frame_scoring=scoring, ppo=PPOConfig(total_steps=steps, seed=seed))
    start = time.perf_counter()
    result = train_run(workspace, config)
    return {"scene": scene, "seed": seed, "reward": kind, "round": round_,
            "scoring": scoring if kind == "learned" else None,
            "success_rate": result["success_rate"],
            "seconds": round(time.perf_counter() - start, 1),
            **distill_summary(result["path"]), "path": result["path"]}


def one_train(run: dict[str, Any]) -> dict[str, Any]:
    """One seed's first-round run as a Ray Tune trial, in the scene's workspace."""
    with Workspace.open(run["workspace"]) as workspace:
        record = train_record(workspace, run["scene"], run["reward"], run["seed"],
                              run["steps"], run["scoring"], 1)
    record.pop("path")
    return record


if __name__ == "__main__":
    main()
