"""Locomotion scenes for every legged robot: walk or run at a target speed, or stand up.

One task class covers them all (dm_control's pattern): a scene is a robot, a physics timestep,
a target speed range behind the difficulty knob, and the height that counts as standing. Ground
truth follows the classic suite rewards: *standing* (height times uprightness) times a bounded
forward-speed term; success is covering the scene's goal distance while standing (or, for
stand scenes, standing tall and still).
"""

from __future__ import annotations

from typing import ClassVar

import mujoco
import numpy as np

from workbench.assets import asset
from workbench.sim.mirror import Mirror
from workbench.sim.physics import Physics
from workbench.task import Task, Vocabulary, tolerance

ARENA = asset("scenes", "locomotion", "arena.xml")


class LocomotionTask(Task):
    tags = ("locomotion", "legged")
    arena = ARENA
    default_control_mode = "joint_torque"
    reference_weights = {"stand": 0.25, "move": 0.75}
    stage_names = ("upright", "moving", "travelled")
    timestep: ClassVar[float] = 0.005
    speed_range: ClassVar[tuple[float, float]] = (1.0, 1.0)  # target m/s at difficulty 0, 1
    stand_height: ClassVar[float]  # height of the measured body that counts as standing
    noun: ClassVar[str] = "robot"
    goal_fraction: ClassVar[float] = 0.4  # share of (speed x duration) to cover for success
    feature_notes = {"target_speed": "the forward speed asked for (m/s); 0 where the scene "
                                     "asks the robot to stand"}
    # Upright, at the speed asked for (standing still where it is 0).
    template_terms = {"upright": "upright",
                      "move": '-np.abs(forward_speed - f["target_speed"][:, 0])'}

    def arena_spec(self, robot) -> mujoco.MjSpec:
        spec = super().arena_spec(robot)
        spec.option.timestep = self.timestep
        return spec

    def bind(self, physics: Physics, robot) -> None:  # type: ignore[override]
        self.body = robot
        self.target_speed = self.speed_range[0]
        self.start_x = 0.0
        self.goal_distance = 1.0

    def tip(self, physics: Physics, rng: np.random.Generator) -> None:
        """Turn the robot away from upright before the episode starts: nothing here; the
        humanoid and the hopper start fallen or tipped over, as in dm_control."""

    def initialize_episode(self, physics: Physics, rng: np.random.Generator) -> None:
        self.tip(physics, rng)
        d = self.difficulty
        low, high = self.speed_range
        self.target_speed = low + (high - low) * d
        seconds = self.episode_steps * self.control_dt
        self.goal_distance = max(self.target_speed * seconds * self.goal_fraction, 1e-6)
        physics.data.qvel[:] += rng.normal(0.0, 0.05 * (1 + d), size=physics.model.nv)
        self.start_x = self.body.torso_x(physics)

    def height(self, physics: Physics) -> float:
        """The height that measures standing (the torso's; the humanoid's head)."""
        return self.body.torso_height(physics)

    def features(self) -> dict[str, int]:
        return {"target_speed": 1}

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        return {"target_speed": np.array([self.target_speed])}

    def mirror(self) -> dict[str, Mirror]:
        # The floor is flat and the goal straight ahead: a robot's mirror image does as well.
        return {"target_speed": Mirror((1.0,))}

    def travelled(self, physics: Physics) -> float:
        return self.body.torso_x(physics) - self.start_x

    def standing(self, physics: Physics) -> float:
        height = min(max(self.height(physics) / self.stand_height, 0.0), 1.0)
        return height * 0.5 * (1.0 + self.body.torso_upright(physics))

    def evaluate(self, physics: Physics) -> dict:
        stand = self.standing(physics)
        speed = self.body.forward_velocity(physics)
        travelled = self.travelled(physics)
        upright = stand > 0.7
        if self.target_speed > 0:
            arrived = travelled >= self.goal_distance
            move = min(max(speed / self.target_speed, 0.0), 1.0)
            progress = min(max(travelled / self.goal_distance, 0.0), 1.0) * (0.5 + 0.5 * stand)
            success = arrived and upright
        else:  # standing scenes: tall, upright and nearly still
            arrived = stand > 0.95
            move = tolerance(abs(speed), 1.0)
            progress = stand
            success = arrived and abs(speed) < 0.3
        return {
            "success": bool(success),
            "progress": float(progress),
            "stages": {
                "upright": upright,
                "moving": speed > 0.5 * self.target_speed if self.target_speed > 0 else upright,
                "travelled": arrived,
            },
            "terms": {"stand": stand, "move": stand * move},
        }

    def goal_text(self) -> str:
        if self.target_speed <= 0:
            return f"make the {self.noun} stand up"
        return f"move the {self.noun} forward at {self.target_speed:.1f} metres per second"


def vocabulary(noun: str, *synonyms: str) -> Vocabulary:
    return Vocabulary(objects={noun: (noun, *synonyms)},
                      relations=("forward", "fast", "slowly", "stand", "upright"))
