"""HumanoidStand and HumanoidWalk: the humanoid, dropped in a random orientation, gets up and
stands, or walks forward.

As in dm_control, standing is measured by the head's height (1.4 m counts as standing);
walking targets 1 m/s (up to 2 m/s at full difficulty).
"""

from __future__ import annotations

import numpy as np

from scenes.locomotion import LocomotionTask, vocabulary
from workbench.sim.physics import Physics


class HumanoidStandTask(LocomotionTask):
    name = "HumanoidStand"
    tags = ("locomotion", "legged", "humanoid")
    robot = "humanoid"
    description = "make the humanoid stand up"
    timestep = 0.005
    control_dt = 0.025
    episode_steps = 400
    cameras = ("robot/side", "robot/back", "robot/egocentric")
    vocabulary = vocabulary("humanoid", "robot", "person", "figure")
    viewer = {"track": "robot/torso", "distance": 4.0, "azimuth": 90, "elevation": -10}
    speed_range = (0.0, 0.0)
    stand_height = 1.4
    noun = "humanoid"

    def tip(self, physics: Physics, rng: np.random.Generator) -> None:
        """As in dm_control: a random orientation, dropped from just above the floor, so the
        humanoid starts by falling and must get up."""
        self.body.set_orientation(physics, rng.normal(size=4))

    def height(self, physics: Physics) -> float:
        return self.body.head_height(physics)


class HumanoidWalkTask(HumanoidStandTask):
    name = "HumanoidWalk"
    description = "make the humanoid walk forward"
    speed_range = (1.0, 2.0)
