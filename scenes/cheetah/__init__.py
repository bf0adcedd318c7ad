"""CheetahWalk and CheetahRun: the half-cheetah moves forward at a target speed.

dm_control's cheetah-run rewards speed up to 10 m/s; here the target is 2-3 m/s (walk) or
8-10 m/s (run), rising with difficulty. The cheetah is never asked to stand tall; it is asked
not to flip: standing is measured against a 0.45 m torso height.
"""

from __future__ import annotations

from scenes.locomotion import LocomotionTask, vocabulary


class CheetahWalkTask(LocomotionTask):
    name = "CheetahWalk"
    tags = ("locomotion", "legged", "planar")
    robot = "cheetah"
    description = "move the cheetah forward"
    timestep = 0.01
    control_dt = 0.02
    episode_steps = 500
    cameras = ("robot/side", "robot/back")
    vocabulary = vocabulary("cheetah", "robot", "runner")
    viewer = {"track": "robot/torso", "distance": 4.0, "azimuth": 90, "elevation": -10}
    speed_range = (2.0, 3.0)
    stand_height = 0.45
    noun = "cheetah"


class CheetahRunTask(CheetahWalkTask):
    name = "CheetahRun"
    description = "make the cheetah run"
    speed_range = (8.0, 10.0)
