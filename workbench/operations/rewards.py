"""Rewards from what the workspace holds: fit a family, let a synthetic teacher rank clips,
score recorded episodes with a goal sentence."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from workbench.config import validated
from workbench.data.takes import named_robots_takes
from workbench.data.workspace import Workspace
from workbench.envs.replay import env_for
from workbench.feedback.labels import teach
from workbench.feedback.teachers import TEACHERS
from workbench.operations.base import Progress, Result, WorkspaceRequest
from workbench.progress import Cancelled, reporting
from workbench.registry import SCENE, SCENES, robot_choices, scene_robot
from workbench.rewards import families
from workbench.rewards.artifact import load_reward_model
from workbench.rewards.language.grounding import grounded_rewards, has_named_objects
from workbench.rl.ray_rollouts import check_reachable
from workbench.sentences import check_sentence, checked_ground, ground


@dataclass(frozen=True, kw_only=True)
@validated
class FitReward(WorkspaceRequest):
    """Fit a reward model of one family from the workspace's demos, takes, rankings and goals."""

    scene: str = field(metadata={"help": "scene whose recordings to learn from",
                                 "positional": True, **SCENE})
    family: str = field(default="progress", metadata={
        "help": "; ".join(f"{f.name}: {f.title.partition(' — ')[2] or f.title}"
                          for f in families.all_families() if f.fit),
        "choices": families.fittable})
    # Its class is the family's config class; its default, the family's defaults for the scene.
    config: Any = field(default=None, metadata={"help": "the family's settings",
                                                "flatten": True})
    robot: str = field(default="", metadata={
        "help": "fit on this robot's takes only (a state reward reads one robot's, where the "
                "scene has takes of several); empty: every take", "choices": robot_choices})
    cluster: str = field(default="", metadata={
        "help": "fit as a task on a Ray cluster (auto, HOST:PORT, ray://HOST:PORT; a GPU node "
                "when the cluster has one), its model stored in the workspace; the scene's "
                "recordings travel with the task where a node does not see the workspace; "
                "empty: here"})

    def check(self) -> None:
        if self.robot:
            scene_robot(self.scene, self.robot)
        check_reachable(self.cluster)

    @classmethod
    def nested_defaults(cls, known: dict[str, Any]) -> dict[str, Any]:
        family = families.get(known.get("family") or "progress")
        return {"config": family.default_config(known.get("scene"))}

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        entry = families.get(self.family)
        settings = entry.default_config(self.scene) if self.config is None else self.config
        if not isinstance(settings, entry.config_class):
            raise TypeError(f"a {self.family} reward is fitted with a "
                            f"{entry.config_class.__name__}, got a {type(settings).__name__}")
        if self.cluster:
            from workbench.operations.cluster import perform_on_cluster

            device = str(getattr(settings, "device", "cpu"))
            here = replace(self, config=settings, cluster="")
            return {"family": self.family, **perform_on_cluster(
                here, ws, self.scene, self.cluster, progress,
                wants_gpu=device == "auto" or device.startswith("cuda"))}

        def on_epoch(epoch: int, loss: float) -> bool:  # families that train count passes
            progress.emit("progress", epoch=epoch + 1, epochs=settings.epochs, loss=loss)
            return not progress.should_stop()

        def on_stage(stage: str, done: int, total: int) -> bool:  # rendering, pretraining
            progress.emit("progress", stage=stage, done=done, total=total)
            return not progress.should_stop()

        with reporting(on_stage):
            try:
                chosen = {"robot": self.robot} if self.robot else {}  # plugins may not take it
                _, report = entry.fit_function()(ws, self.scene, settings, on_epoch=on_epoch,
                                                 **chosen)
            except Cancelled as exc:
                return {"family": self.family, "cancelled": str(exc)}
        return {"family": self.family, **report}


@dataclass(frozen=True, kw_only=True)
@validated
class Teach(WorkspaceRequest):
    """Let a synthetic teacher (B-Pref) answer ranking queries from the scene's true reward."""

    scene: str = field(metadata={"help": "scene whose clips to rank", "positional": True,
                                 **SCENE})
    teacher: str = field(default="oracle", metadata={
        "help": "B-Pref teacher: oracle, or one with its kind of human error",
        "choices": tuple(TEACHERS)})
    labels: int = field(default=50, metadata={
        "help": "how many queries to answer", "min": 1, "max": 1_000_000})
    length: int = field(default=20, metadata={
        "help": "segment length in steps", "min": 1, "max": 100_000})
    active: bool = field(default=False, metadata={
        "help": "ask about the pairs the newest preference ensemble disputes most"})
    seed: int = field(default=0, metadata={"help": "seed of the query sampling", "min": 0})
    robot: str = field(default="", metadata={
        "help": "ask about this robot's takes only, where the scene has takes of several; "
                "empty: each query one robot's, drawn by their shares", "choices": robot_choices})

    def check(self) -> None:
        scene_robot(self.scene, self.robot)  # a robot of another kind: refused first

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        features = None
        if self.robot:
            features = named_robots_takes(ws, self.scene, self.robot)[0]["meta"].get("features")
        model = None
        if self.active:
            models = [m for m in ws.models(self.scene) if m["family"] == "preference"]
            if not models:
                raise ValueError("--active needs a preference model; fit one first "
                                 f"(`workbench train-reward {self.scene} --family preference`)")
            model = load_reward_model(models[-1]["path"], device="cpu")
            if features is not None and model.features != features:
                raise ValueError(f"--active: the newest preference model of {self.scene} reads "
                                 f"another robot's takes than {self.robot}'s; fit one on "
                                 f"{self.robot}'s (`workbench train-reward {self.scene} "
                                 f"--family preference --robot {self.robot}`)")
        ids = teach(ws, self.scene, TEACHERS[self.teacher], self.labels,
                    np.random.default_rng(self.seed), self.length, model, features=features)
        answers = [p.answer for p in ws.preferences() if p.id in set(ids)]
        return {"labels": len(ids), "teacher": self.teacher,
                "answers": {a: answers.count(a) for a in sorted(set(answers))}}


@dataclass(frozen=True, kw_only=True)
@validated
class SaveGoal(WorkspaceRequest):
    """Save a goal sentence for the scene (what the vision-language and CLIP rewards and
    goal-conditioned training read), with an optional baseline sentence."""

    scene: str = field(metadata={"help": "the scene the goal is for", "positional": True,
                                 **SCENE})
    goal: str = field(metadata={"help": "goal sentence, e.g. 'push the red cube onto the pad'",
                                "positional": True})
    baseline: str = field(default="", metadata={
        "help": "what the scene looks like before (CLIP's goal-baseline projection)"})

    def check(self) -> None:
        checked_ground(self.goal, SCENES.load(self.scene))

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        goal_id = ws.add_goal(self.goal, self.scene, self.baseline.strip() or None)
        return {"goal_id": goal_id, "goal": self.goal, "scene": self.scene}


GOAL_SCAN = 1_000  # the newest episodes ScoreGoal looks through for the named objects


@dataclass(frozen=True, kw_only=True)
@validated
class ScoreGoal(WorkspaceRequest):
    """The reward a goal sentence gives each recorded episode, before any training: the
    sentence grounded in the scene's words gates the scene's reward terms."""

    scene: str = field(metadata={"help": "scene whose episodes to score", "positional": True,
                                 **SCENE})
    goal: str = field(metadata={"help": "goal sentence, e.g. 'push the red cube onto the pad'",
                                "positional": True})
    max_episodes: int = field(default=12, metadata={
        "help": "episodes to score: the newest with the objects the goal names, then the "
                "newest others", "min": 1, "max": 100_000})

    def check(self) -> None:
        checked_ground(self.goal, SCENES.load(self.scene))

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        goal = check_sentence(self.goal)
        rows = ws.episodes(scene=self.scene)
        if not rows:
            raise ValueError(f"no recorded episodes of {self.scene} to score; record some first")
        envs: dict[Any, Any] = {}  # by robot: each take replays with the robot it was taken with

        def env_of(row: dict[str, Any]) -> Any:
            robot = row["meta"].get("robot")
            if robot not in envs:
                envs[robot] = env_for(ws.load_episode(row["id"]))
            return envs[robot]

        task = env_of(rows[0]).task
        grounding = ground(goal, task)  # checked by check()
        curves = []
        try:
            rows = self._episodes_to_score(env_of, rows, grounding)
            for i, row in enumerate(rows):
                if progress.should_stop():
                    break
                episode, env = ws.load_episode(row["id"]), env_of(row)
                env.task.difficulty = episode.meta["meta"].get("difficulty", 0.0)
                rewards = grounded_rewards(env, episode, grounding)
                curves.append({"episode": row["id"], "success": bool(row["success"]),
                               "goal": row["goal"], "reward": rewards.tolist()})
                progress.emit("progress", done=i + 1, total=len(rows))
        finally:
            for env in envs.values():
                env.close()
        if task.vocabulary.colours:
            binding = ", ".join(f"{role} = {colour or 'any colour'}"
                                for role, colour in grounding.colours.items())
        else:  # a scene without colours (the locomotion ones): the roles alone
            binding = ", ".join(grounding.colours)
        return {"goal": goal, "grounding": binding or "no colours named", "curves": curves}

    def _episodes_to_score(self, env_of, rows: list[dict], grounding) -> list[dict]:
        """Up to ``max_episodes`` rows, oldest first: the newest whose objects the goal names,
        then the newest others. Elsewhere the goal's reward is 0, so those are the contrast, not
        the point (12 newest of 25 Push episodes held 1 of the 5 with a purple cube)."""
        named: list[dict] = []
        others: list[dict] = []
        for row in reversed(rows[-GOAL_SCAN:]):
            env = env_of(row)
            env.task.difficulty = row["meta"].get("difficulty", 0.0)  # for an unstored draw
            (named if has_named_objects(env, row, grounding) else others).append(row)
            if len(named) == self.max_episodes:
                break
        chosen = named + others[: self.max_episodes - len(named)]
        return sorted(chosen, key=lambda row: row["id"])
