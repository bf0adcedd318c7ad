"""Quadruped: an ant-like four-legged robot with 12 actuators over yaw, lift and extend tendons.

The MJCF is dm_control's ``suite/quadruped.xml`` (Apache-2.0, DeepMind), loaded from the
installed package; ``robots.suite`` keeps the robot and drops dm_control's terrain, ball and
lights. Hardware mapping: the 12 actuators in file order, each command normalised to [-1, 1].
"""

from robots.suite import SuiteLeggedRobot


class Quadruped(SuiteLeggedRobot):
    xml = "quadruped.xml"
    description = "ant-like quadruped, 12 actuators (dm_control MJCF)"
