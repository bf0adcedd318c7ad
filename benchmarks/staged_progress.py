"""Stage-aware progress against plain progress, on the multi-stage manipulation scenes.

Per scene: 25 scripted demos, 15 perturbed and 5 random rollouts are recorded once; each reward
is fitted on the first 1 or 5 successful demos plus 5 failed rollouts, and measured on the last
20 successful demos (Spearman against ground-truth progress) and on the remaining failures
(success-vs-failure pairs), with the EPIC distance to the scene's reference reward.

Variants: ``progress`` (normalised time), ``staged`` (the scene's named stages, gated),
``staged, ungated``, ``discovered`` (as many steps as the scene has stages, found in the demos).

Run: python benchmarks/staged_progress.py [--scenes PickPlace Stack DrawerOpen DoorOpen Push]
"""

from __future__ import annotations

import argparse
import json
import tempfile

import torch

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs import make_env
from workbench.rewards.metrics import reward_report
from workbench.rewards.progress import fit_progress
from workbench.rewards.staged import StagedConfig, fit_staged
from workbench.teleop.recorder import random_policy, record_policy_episodes, scripted_policy

VARIANTS = ("progress", "staged", "staged, ungated", "discovered")


def fit_variant(name, scene, features, stages, demos, negatives):
    if name == "progress":
        return fit_progress(demos, scene, features, negatives)
    config = {"staged": StagedConfig(), "staged, ungated": StagedConfig(gate=False),
              "discovered": StagedConfig(discover=stages)}[name]
    return fit_staged(demos, scene, features, negatives, config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+",
                        default=["PickPlace", "Stack", "DrawerOpen", "DoorOpen", "Push"])
    parser.add_argument("--demos", type=int, nargs="+", default=[1, 5])
    args = parser.parse_args()
    torch.set_num_threads(1)
    for scene in args.scenes:
        with tempfile.TemporaryDirectory() as folder:
            ws = Workspace.open(folder, create=True)
            env = make_env(scene)
            record_policy_episodes(env, ws, scripted_policy(env, 0), 25, "scripted", seed=0)
            record_policy_episodes(env, ws, scripted_policy(env, 1, perturbed=True), 15,
                                   "perturbed", seed=100)
            record_policy_episodes(env, ws, random_policy(env, 2), 5, "random", seed=200)
            rows = ws.episodes(scene=scene)
            good = [ws.load_episode(r["id"]) for r in rows
                    if r["source"] == "scripted" and r["success"]]
            bad = [ws.load_episode(r["id"]) for r in rows
                   if r["source"] != "scripted" and not r["success"]]
            stages = len(env.task.stage_names)
            for count in args.demos:
                for name in VARIANTS:
                    model = fit_variant(name, scene, env.features, stages, good[:count],
                                        bad[:5])
                    report = reward_report(model, good[-20:], bad[5:])
                    print(json.dumps({"scene": scene, "demos": count, "variant": name,
                                      **{k: round(v, 3) for k, v in report.items()
                                         if isinstance(v, float)}}), flush=True)
            env.close()
            ws.close()


if __name__ == "__main__":
    main()
