"""Walk: the planar walker stands up and walks forward at a target speed.

Ground truth follows the classic planar-walker reward: standing (torso height and uprightness)
times a bounded forward-speed term. The difficulty knob raises the target speed from 0.5 to
1.5 m/s and the spread of the initial pose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robots.walker import PlanarWalker
from workbench.sim.physics import Physics
from workbench.task import Task, Vocabulary

STAND_HEIGHT = 1.2


class WalkTask(Task):
    name = "Walk"
    tags = ("locomotion", "legged", "planar")
    robot = "walker"
    arena = Path(__file__).with_name("arena.xml")
    description = "walk forward"
    default_control_mode = "joint_torque"
    control_dt = 0.025
    episode_steps = 400
    cameras = ("robot/side", "robot/back")
    vocabulary = Vocabulary(
        objects={"walker": ("walker", "robot", "biped")},
        relations=("forward", "fast", "slowly"),
    )
    stage_names = ("upright", "moving", "travelled")
    viewer = {"track": "robot/torso", "distance": 4.0, "azimuth": 90, "elevation": -10}
    reference_weights = {"stand": 0.25, "move": 0.75}

    def bind(self, physics: Physics, robot: PlanarWalker) -> None:  # type: ignore[override]
        self.walker = robot
        self.target_speed = 0.5
        self.start_x = 0.0
        self.goal_distance = 4.0

    def initialize_episode(self, physics: Physics, rng: np.random.Generator) -> None:
        d = self.difficulty
        self.target_speed = 0.5 + 1.0 * d
        self.goal_distance = self.target_speed * self.episode_steps * self.control_dt * 0.4
        physics.data.qvel[:] = rng.normal(0.0, 0.05 * (1 + d), size=physics.model.nv)
        self.start_x = self.walker.torso_x(physics)

    def features(self) -> dict[str, int]:
        return {"target_speed": 1}

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        return {"target_speed": np.array([self.target_speed])}

    def travelled(self, physics: Physics) -> float:
        return self.walker.torso_x(physics) - self.start_x

    def standing(self, physics: Physics) -> float:
        height = min(max(self.walker.torso_height(physics) / STAND_HEIGHT, 0.0), 1.0)
        upright = 0.5 * (1.0 + self.walker.torso_upright(physics))
        return height * upright

    def evaluate(self, physics: Physics) -> dict:
        """Ground truth from three measurements, computed once per step."""
        stand = self.standing(physics)
        speed = self.walker.forward_velocity(physics)
        travelled = self.travelled(physics)
        upright = stand > 0.7
        arrived = travelled >= self.goal_distance
        move = min(max(speed / self.target_speed, 0.0), 1.0)
        return {
            "success": bool(arrived and upright),
            "progress": min(max(travelled / self.goal_distance, 0.0), 1.0) * (0.5 + 0.5 * stand),
            "stages": {
                "upright": upright,
                "moving": speed > 0.5 * self.target_speed,
                "travelled": arrived,
            },
            "terms": {"stand": stand, "move": stand * move},
        }

    def goal_text(self) -> str:
        return f"walk forward at {self.target_speed:.1f} metres per second"
