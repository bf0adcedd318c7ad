"""Grounded language rewards on held-out goal sentences that name different colours.

For each scene: scripted successes and perturbed failures are recorded; for every successful
episode a sentence is written from its objects' colours in a phrasing none of the scenes' own
goal texts use; the grounded reward (the scene's reference terms gated by the sentence's colour
binding, see ``workbench.rewards.language.grounding``) scores every episode. Accuracy = the
fraction of (episode achieving the sentence, episode not achieving it) pairs ranked correctly
by the mean reward of the last 5 steps.

Run: python benchmarks/language_grounding.py [--episodes 12]
"""

from __future__ import annotations

import argparse
import json
import tempfile

import numpy as np

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs import make_env
from workbench.registry import SCENES
from workbench.rewards.language.grounding import grounded_rewards
from workbench.sentences import ground
from workbench.teleop.recorder import record_policy_episodes, scripted_policy

PHRASES = {
    "Push": ("slide the {cube} block over to the {pad} target", "nudge the {cube} box to the pad"),
    "PickPlace": ("drop the {cube} block into the {tray} bin", "place the {cube} box inside the "
                  "{tray} container"),
    "Stack": ("put the {cube} block on top of the {base} one", "the {cube} cube goes on the "
              "{base} cube"),
    "DrawerOpen": ("pull the {drawer} drawer out", "open up the {drawer} drawer"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=12)
    args = parser.parse_args()
    for scene, phrases in PHRASES.items():
        with tempfile.TemporaryDirectory() as folder:
            ws = Workspace.open(folder, create=True)
            env = make_env(scene)
            ids = record_policy_episodes(env, ws, scripted_policy(env, 0), args.episodes,
                                         "scripted", seed=0)
            ids += record_policy_episodes(env, ws, scripted_policy(env, 50, True), 4,
                                          "perturbed", seed=50)
            episodes = [ws.load_episode(i) for i in ids]
            colours = []
            for e in episodes:
                env.reset(seed=e.meta["seed"])
                colours.append(env.task.object_colours(env.physics))
            correct = total = 0
            task = SCENES.load(scene)
            for i, (episode, named) in enumerate(zip(episodes, colours, strict=True)):
                if not episode.meta["success"]:
                    continue
                grounding = ground(phrases[i % len(phrases)].format(**named), task)
                scores = np.array([grounded_rewards(env, e, grounding)[-5:].mean()
                                   for e in episodes])
                achieved = np.array([bool(e.meta["success"]) and grounding.satisfied_by(c)
                                     for e, c in zip(episodes, colours, strict=True)])
                pairs = scores[achieved][:, None] > scores[~achieved][None, :]
                correct, total = correct + int(pairs.sum()), total + pairs.size
            ws.close()
        print(json.dumps({"scene": scene, "sentences": int(sum(e.meta["success"]
                                                               for e in episodes)),
                          "pairs": total, "accuracy": round(correct / max(total, 1), 3)}))


if __name__ == "__main__":
    main()
