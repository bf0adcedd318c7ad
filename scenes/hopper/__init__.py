"""HopperStand and HopperHop: dm_control's one-legged hopper stands, or hops forward.

As in dm_control, standing is the torso's height above the foot (0.6 m counts), and the hopper
starts tipped over; hopping targets 1 m/s at difficulty 0 and 2 m/s (dm_control's speed) at 1.
The difficulty also widens the starting tilt, from 0.25 rad to any angle (dm_control's start).
"""

from __future__ import annotations

import numpy as np

from scenes.locomotion import LocomotionTask, vocabulary
from workbench.sim.physics import Physics


class HopperStandTask(LocomotionTask):
    name = "HopperStand"
    tags = ("locomotion", "legged", "planar")
    robot = "hopper"
    description = "make the hopper stand up"
    control_dt = 0.02  # dm_control's; its 0.005 s physics step is LocomotionTask's default
    episode_steps = 500
    cameras = ("robot/side", "robot/back")
    vocabulary = vocabulary("hopper", "robot", "leg")
    viewer = {"track": "robot/torso", "distance": 3.0, "azimuth": 90, "elevation": -10}
    speed_range = (0.0, 0.0)
    stand_height = 0.6
    noun = "hopper"

    def tip(self, physics: Physics, rng: np.random.Generator) -> None:
        tilt = 0.25 + (np.pi - 0.25) * self.difficulty
        self.body.set_pitch(physics, rng.uniform(-tilt, tilt))

    def height(self, physics: Physics) -> float:
        return self.body.height_above_foot(physics)


class HopperHopTask(HopperStandTask):
    name = "HopperHop"
    description = "make the hopper hop forward"
    speed_range = (1.0, 2.0)
