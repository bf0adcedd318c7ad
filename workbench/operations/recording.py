"""Recording takes without a person at the controls: scripted demos, failing twins, random
actions (a person's own takes come from the app's viewport or ``workbench teleop``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.config import validated
from workbench.data.workspace import Workspace
from workbench.envs.env import make_env, scene_info
from workbench.operations.base import Progress, Result, WorkspaceRequest
from workbench.registry import SCENE, SCENES, robot_choices, scene_robot, stand_ins
from workbench.teleop.recorder import (
    demo_set_size,
    random_policy,
    record_demo_set,
    record_policy_episodes,
    scripted_policy,
)

MAX_TAKES = 100_000


@dataclass(frozen=True, kw_only=True)
@validated
class Record(WorkspaceRequest):
    """Record episodes with the scene's scripted demonstrator, its failing twin or random
    actions."""

    changes_episodes = True

    scene: str = field(metadata={"help": "scene to record", "positional": True,
                                 **SCENE})
    scripted: int = field(default=0, metadata={
        "help": "scripted demonstrations", "min": 0, "max": MAX_TAKES})
    failures: bool = field(default=False, metadata={
        "help": "with the scripted demos, failed takes as a progress reward needs them: "
                "half as many random and as many perturbed rollouts"})
    perturbed: int = field(default=0, metadata={
        "help": "perturbed (failing) demonstrations, negatives for reward learning",
        "min": 0, "max": MAX_TAKES})
    random: int = field(default=0, metadata={
        "help": "random-action episodes", "min": 0, "max": MAX_TAKES})
    seed: int = field(default=-1, metadata={
        "help": "seed of the first take (-1: one the workspace has not used)", "min": -1})
    difficulty: float = field(default=0.0, metadata={
        "help": "scene difficulty", "min": 0.0, "max": 1.0})
    cameras: tuple[str, ...] = field(default=(), metadata={
        "help": "cameras to record frames from at every step (the scene's: `workbench scenes`)"})
    image_size: int = field(default=84, metadata={
        "help": "frame width and height in pixels", "min": 16, "max": 1024})
    robot: str = field(default="", metadata={
        "help": "record with another robot of the scene's kind (so101, panda); empty: the "
                "scene's own", "choices": robot_choices})

    def check(self) -> None:
        if not (self.scripted or self.perturbed or self.random):
            raise ValueError("nothing to record: give --scripted, --perturbed or --random "
                             "(drive it yourself with `workbench teleop` or the app)")
        info = scene_info(self.scene)  # the field's check has made sure the scene exists
        if (self.scripted or self.perturbed) and not info["demonstrator"]:
            able = [name for name in SCENES.names() if scene_info(name)["demonstrator"]]
            raise ValueError(f"--{'scripted' if self.scripted else 'perturbed'}: {self.scene} "
                             f"has no scripted demonstrator (scenes with one: "
                             f"{', '.join(able)}); record --random takes and rank them")
        scene_robot(self.scene, self.robot)  # a robot of another kind: refused first
        laid_out = stand_ins(self.scene)
        if (self.scripted or self.perturbed) and self.robot and self.robot not in laid_out:
            listed = (f"{', '.join(laid_out[:-1])} and {laid_out[-1]}" if len(laid_out) > 1
                      else laid_out[0])
            raise ValueError(f"--robot: {self.scene}'s scripted demonstrator is laid out for "
                             f"{listed}, not {self.robot}; record {self.robot}'s takes by hand "
                             "(`workbench teleop`, the app) or with --random")
        unknown = [c for c in self.cameras if c not in info["cameras"]]
        if unknown:
            raise ValueError(f"cameras must be among {', '.join(info['cameras'])} for "
                             f"{self.scene}, got {', '.join(unknown)}")

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        env = make_env(self.scene, difficulty=self.difficulty, robot=self.robot or None)
        frames: dict[str, Any] = {"image_cameras": self.cameras, "image_size": self.image_size}
        demos = demo_set_size(env, self.scripted, self.failures) if self.scripted else 0
        total = demos + self.perturbed + self.random
        ids: list[int] = []

        def saved(n: int) -> None:
            progress.emit("progress", done=len(ids) + n, total=total)

        seed = self.seed if self.seed >= 0 else 1000 + 100 * len(
            ws.episodes(include_incomplete=True))
        try:
            if self.scripted:
                ids += record_demo_set(ws, self.scene, self.scripted, self.failures,
                                       progress=saved, should_stop=progress.should_stop,
                                       difficulty=self.difficulty, seed=seed,
                                       robot=self.robot or None, **frames)
            for source, count in (("perturbed", self.perturbed), ("random", self.random)):
                if count and not progress.should_stop():
                    policy = (random_policy(env, seed) if source == "random"
                              else scripted_policy(env, seed, perturbed=True))
                    ids += record_policy_episodes(env, ws, policy, count, source,
                                                  seed=seed + len(ids), progress=saved,
                                                  should_stop=progress.should_stop, **frames)
        finally:
            env.close()
        success = {row["id"]: bool(row["success"]) for row in ws.episodes(scene=self.scene)}
        return {"episodes": ids, "successful": sum(success.get(i, False) for i in ids),
                "workspace": str(ws.root)}
