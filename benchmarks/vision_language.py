"""The learned vision-language progress reward on Push: does it read the goal sentence?

Push paints its cube one of five colours per episode and the goal names it ("push the purple
cube onto the green pad"). 40 scripted takes are recorded with two 64x64 views; the model is
fitted on the first 1, 5 or 10 of them (with their goal texts and 2 counterfactual goals each)
and measured on the last 20, split by whether a training demo showed the take's cube colour:
Spearman of progress under the take's own goal against ground-truth progress, and how often the
last frames score higher under the own goal than under each of 4 counterfactual goals (another
colour named).

``--scene PushChoice`` asks as a training run there does: the cube's colour is not named
("push the cube onto the blue pad"), and the accuracy is how often the last frames score higher
under the pad the take went to than under the other pad.

Run: python benchmarks/vision_language.py [--demos 1 5 10] [--scene Push|PushChoice]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from dataclasses import replace

import numpy as np
import torch

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs import make_env
from workbench.registry import SCENES
from workbench.rewards.metrics import progress_spearman
from workbench.rewards.vision_language import counterfactual_goals, fit_vision_language
from workbench.rewards.workflow import vision_language_defaults
from workbench.teleop.recorder import record_policy_episodes, scripted_policy


def goal_accuracy(model, episodes, vocabulary, rng) -> float:
    hits = []
    for episode in episodes:
        own = model.progress_episode(episode)[-5:].mean()
        for other in counterfactual_goals(episode.meta["goal"], vocabulary, 4, rng):
            hits.append(own > model.progress_episode(episode, other)[-5:].mean())
    return float(np.mean(hits))


def as_run_asks(goal: str) -> str:
    """PushChoice's goal text as a training run's sentence gives it: the cube's colour
    unnamed."""
    return re.sub(r"\b\w+ cube\b", "cube", goal)


class AsRunAsks:
    """The model scoring each take under the sentence a PushChoice run gives."""

    def __init__(self, model):
        self.model = model

    def progress_episode(self, episode, goal=None):
        return self.model.progress_episode(episode, goal or as_run_asks(episode.meta["goal"]))


def choice_scores(model, episodes) -> dict[str, float]:
    """Spearman under the sentence a run gives, and how often the last frames score higher
    under the pad the take went to than under the other pad."""
    asked = AsRunAsks(model)
    hits = []
    for episode in episodes:
        named = as_run_asks(episode.meta["goal"])
        other = re.sub(r"\b(green|blue) pad",
                       lambda m: ("blue" if m[1] == "green" else "green") + " pad", named)
        hits.append(asked.progress_episode(episode)[-5:].mean()
                    > asked.progress_episode(episode, other)[-5:].mean())
    return {"spearman": round(progress_spearman(asked, episodes), 3),
            "choice_accuracy": round(float(np.mean(hits)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demos", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--scene", choices=("Push", "PushChoice"), default="Push")
    args = parser.parse_args()
    torch.set_num_threads(2)
    task = SCENES.load(args.scene)
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace.open(folder, create=True)
        env = make_env(args.scene)
        defaults = vision_language_defaults(args.scene)
        ids = record_policy_episodes(env, ws, scripted_policy(env, 0), 40, "scripted",
                                     image_cameras=defaults.frames.cameras, image_size=64)
        takes = [ws.load_episode(i) for i in ids]
        held = takes[-20:]
        for count in args.demos:
            demos = takes[:count]
            start = time.perf_counter()
            model = fit_vision_language(demos, args.scene, config=replace(
                defaults, frames=replace(defaults.frames, epochs=args.epochs)))
            seconds = time.perf_counter() - start
            seen_goals = {d.meta["goal"] for d in demos}
            row = {"scene": args.scene, "demos": count,
                   "colours_shown": len(seen_goals), "fit_seconds": round(seconds, 1)}
            if args.scene == "PushChoice":
                print(json.dumps({**row, **choice_scores(model, held)}), flush=True)
                continue
            for name, group in (("seen", [e for e in held if e.meta["goal"] in seen_goals]),
                                ("unseen", [e for e in held if e.meta["goal"] not in seen_goals])):
                if group:
                    rng = np.random.default_rng(0)
                    row[name] = {"takes": len(group),
                                 "spearman": round(progress_spearman(model, group), 3),
                                 "goal_accuracy": round(goal_accuracy(
                                     model, group, task.vocabulary, rng), 3)}
            print(json.dumps(row), flush=True)
        env.close()
        ws.close()


if __name__ == "__main__":
    main()
