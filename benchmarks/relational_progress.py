"""Why pretrained perceptual rewards read relations: one demo, three views of the same state.

Per scene, a small MLP regresses normalised time along 1 (and 5) scripted demos from the
observation, seen as (a) the raw vectors between things (``hand_to_cube``...), (b) their
lengths, (c) their lengths, unsigned height gaps and the gripper (what
``PerceptualConfig(pretrain=...)`` feeds its heads); measured on 20 held-out successes
(Spearman against ground-truth progress) and 10 failures of the perturbed demonstrator
(fraction of success/failure pairs ranked right), as `benchmarks/perceptual_progress.py` does
for frames. State, not pixels: the ceiling a perfect state reader would reach.

Run: python benchmarks/relational_progress.py [--scenes Reach PickPlace Stack Push]
"""

from __future__ import annotations

import argparse
import json
import tempfile

import numpy as np
import torch
from scipy.stats import spearmanr

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs import make_env
from workbench.rewards.perceptual.pretrain import relation_slices, relations
from workbench.rewards.progress.config import ProgressConfig
from workbench.rewards.progress.fit import progress_targets
from workbench.teleop.recorder import record_policy_episodes, scripted_policy


def record(workspace, scene, first_seed, count, perturbed=False):
    env = make_env(scene)
    ids = record_policy_episodes(env, workspace, scripted_policy(env, first_seed, perturbed),
                                 count, source="perturbed" if perturbed else "scripted",
                                 seed=first_seed)
    env.close()
    return [workspace.load_episode(i) for i in ids]


def view(states: np.ndarray, layout: dict[str, int], kind: str) -> torch.Tensor:
    vectors, gripper = relation_slices(layout)
    s = torch.as_tensor(states)
    if kind == "vectors":
        return torch.cat([s[:, v] for v in vectors], dim=1)
    if kind == "lengths":
        return relations(s, vectors, [], heights=False)
    return relations(s, vectors, gripper)


def fit_and_measure(demos, held, failures, layout, kind, steps=2000):
    x = torch.cat([view(d["state"], layout, kind) for d in demos])
    y = torch.as_tensor(np.concatenate([progress_targets(d, ProgressConfig()) for d in demos]))
    mean, std = x.mean(0), x.std(0) + 1e-3
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 64), torch.nn.SiLU(),
                              torch.nn.Linear(64, 64), torch.nn.SiLU(), torch.nn.Linear(64, 1))
    optimiser = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    for _ in range(steps):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net((x - mean) / std)[:, 0], y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    def progress(episode):
        with torch.no_grad():
            return torch.sigmoid(net((view(episode["state"], layout, kind) - mean) / std)[:, 0]
                                 ).numpy()

    scores = []
    for episode in held:
        hits = np.flatnonzero(episode["success"])
        end = int(hits[0]) + 1 if len(hits) else len(episode)
        scores.append(spearmanr(progress(episode)[:end], episode["progress"][:end]).statistic)
    good = np.array([progress(e)[-5:].mean() for e in held])
    bad = np.array([progress(e)[-5:].mean() for e in failures])
    return round(float(np.nanmean(scores)), 3), round(float((good[:, None] > bad).mean()), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=["Reach", "PickPlace", "Stack", "Push"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    for scene in args.scenes:
        env = make_env(scene)
        layout = dict(env.unwrapped.features)
        env.close()
        with tempfile.TemporaryDirectory() as folder:
            ws = Workspace.open(folder, create=True)
            demos = record(ws, scene, 0, 5)
            held = [e for e in record(ws, scene, 100, 20) if e.meta["success"]]
            failures = [e for e in record(ws, scene, 200, 10, True) if not e.meta["success"]]
            row = {"scene": scene}
            for kind in ("vectors", "lengths", "relations"):
                row[kind] = {f"{n} demo": fit_and_measure(demos[:n], held, failures, layout, kind)
                             for n in (1, 5)}
            ws.close()
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
