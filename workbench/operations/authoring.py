"""A language model writes reward code for a scene; the workspace's demos, takes and labels
pick among its candidates before any RL, the best train briefly, and what they did goes back to
the model (see :mod:`workbench.rewards.code.author`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from workbench.config import validated
from workbench.data.segments import SegmentCache
from workbench.data.workspace import Workspace
from workbench.envs.env import make_env
from workbench.operations.base import Progress, Result, WorkspaceRequest
from workbench.registry import SCENE
from workbench.rewards.artifact import load_reward_model
from workbench.rewards.code.author import AuthorConfig, Candidate, describe, search
from workbench.rewards.code.model import CodeConfig
from workbench.rewards.preference.dataset import queries_from_workspace
from workbench.rewards.preference.fit import preference_accuracy
from workbench.rewards.workflow import fit_code_in_workspace, store_model
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig


@dataclass(frozen=True, kw_only=True)
@validated
class WriteReward(WorkspaceRequest):
    """A language model writes reward code for the scene: each candidate is checked against
    the recorded demos, takes and labels and stored as a version, the best few train PPO
    briefly, and their results go back to the model for the next round."""

    scene: str = field(metadata={"help": "scene to write a reward for", "positional": True,
                                 **SCENE})
    goal: str = field(default="", metadata={
        "help": "what the reward should ask for (default: the scene's own task)"})
    author: AuthorConfig = field(default_factory=AuthorConfig, metadata={
        "help": "the language model and the search", "flatten": True})

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        env = make_env(self.scene)
        features, notes, task = env.features, env.feature_notes, env.task
        readouts = env.robot.readouts
        env.close()
        brief = describe(self.scene, task.description, features, task.vocabulary, self.goal,
                         notes, readouts)
        ids = {row["id"] for row in ws.episodes(scene=self.scene)}
        labels = queries_from_workspace(ws, scene_ids=ids, cache=SegmentCache(ws))

        def judge(source: str, round_: int) -> Candidate:
            model, report = fit_code_in_workspace(ws, self.scene, CodeConfig(source=source))
            scores: dict[str, float] = {
                k: float(report[k]) for k in ("spearman_progress", "success_vs_failure")
                if k in report}
            if any(q.kind == "pair" and q.answer in ("left", "right") for q in labels):
                scores["label_accuracy"] = preference_accuracy(model, labels)
            model.close()
            return Candidate(round_, source, scores, model_path=report["path"])

        def train(candidate: Candidate) -> dict[str, Any]:
            config = RunConfig.on_model(
                candidate.model_path, scene=self.scene, eval_episodes=10, checkpoint_every=0,
                tensorboard=False, hacking_guard=False,
                ppo=replace(RunConfig.for_scene(self.scene).ppo,
                            total_steps=self.author.train_steps))
            run = train_run(ws, config)
            rows = [json.loads(line) for line in open(Path(run["path"]) / "metrics.jsonl")]
            terms = {k[len("reward/"):]: float(np.mean([r[k] for r in rows if k in r]))
                     for k in rows[-1] if k.startswith("reward/")}
            return {"success_rate": run["success_rate"], "reference_return": run["mean_return"],
                    "terms": terms, "run": run["path"]}

        def report(stage: str, done: int, total: int) -> bool:
            progress.emit("progress", stage=stage, done=done, total=total)
            return not progress.should_stop()

        found = search(brief, self.author, judge, train, report)
        best = None
        if found and not found[0].error:  # the chosen one becomes the scene's newest reward
            chosen = load_reward_model(found[0].model_path)
            best = store_model(ws, chosen, self.scene, {
                **chosen.metrics, "chosen_from": len(found), "merit": found[0].merit,
                **({"short_run_success": found[0].training["success_rate"]}
                   if found[0].training else {})})["path"]
            chosen.close()
        return {"candidates": [
            {"round": c.round, "merit": None if c.error else c.merit, "scores": c.scores,
             "error": c.error, "model": c.model_path, "training": c.training,
             "source": c.source} for c in found], "best": best}

