"""QuadrupedWalk and QuadrupedRun: the four-legged robot moves forward along x.

Targets follow dm_control's quadruped tasks: 0.5 m/s to walk, 5 m/s to run (up to 1 and 7 m/s
at full difficulty).
"""

from __future__ import annotations

from scenes.locomotion import LocomotionTask, vocabulary


class QuadrupedWalkTask(LocomotionTask):
    name = "QuadrupedWalk"
    tags = ("locomotion", "legged", "quadruped")
    robot = "quadruped"
    description = "walk the quadruped forward"
    timestep = 0.005
    control_dt = 0.02
    episode_steps = 500
    cameras = ("robot/x", "robot/y", "robot/egocentric")
    vocabulary = vocabulary("quadruped", "robot", "dog", "ant")
    viewer = {"track": "robot/torso", "distance": 4.0, "azimuth": 135, "elevation": -20}
    speed_range = (0.5, 1.0)
    stand_height = 0.35
    noun = "quadruped"
    # A preference reward told the quadruped's mirror (left and right legs swap): from 100
    # labels asked while PPO trains, 67% success against 44% (10 seeds, 8 of them higher;
    # docs/BENCHMARKS.md, "PPO on an online preference reward of a legged robot").
    preference_options = {"scene_mirror": True}


class QuadrupedRunTask(QuadrupedWalkTask):
    name = "QuadrupedRun"
    description = "make the quadruped run"
    speed_range = (5.0, 7.0)
