"""Walk and WalkerRun: the planar walker moves forward at a target speed.

Ground truth follows the classic planar-walker reward (see ``scenes.locomotion``). The difficulty
knob raises the target speed (Walk: 0.5 to 1.5 m/s; WalkerRun: 3 to 5 m/s) and the spread of the
initial pose.
"""

from __future__ import annotations

from scenes.locomotion import LocomotionTask, vocabulary
from workbench.assets import asset


class WalkTask(LocomotionTask):
    name = "Walk"
    tags = ("locomotion", "legged", "planar")
    robot = "walker"
    arena = asset("scenes", "walk", "arena.xml")
    timestep = 0.0025
    description = "walk forward"
    control_dt = 0.025
    episode_steps = 400
    cameras = ("robot/side", "robot/back")
    vocabulary = vocabulary("walker", "robot", "biped")
    viewer = {"track": "robot/torso", "distance": 4.0, "azimuth": 90, "elevation": -10}
    speed_range = (0.5, 1.5)
    stand_height = 1.2
    noun = "walker"

    def goal_text(self) -> str:
        return f"walk forward at {self.target_speed:.1f} metres per second"


class WalkerRunTask(WalkTask):
    name = "WalkerRun"
    description = "run forward"
    speed_range = (3.0, 5.0)

    def goal_text(self) -> str:
        return f"run forward at {self.target_speed:.1f} metres per second"
