"""Half-cheetah: a planar runner with six torque-driven joints.

The MJCF is dm_control's ``suite/cheetah.xml`` (Apache-2.0, DeepMind), loaded from the installed
package at run time, not copied; ``robots.suite`` strips its floor and freezes its 14 kg mass.
Hardware mapping: the six actuators in file order (back thigh, shin, foot; front thigh, shin,
foot), torque commands normalised to [-1, 1] by each motor's gear.
"""

from robots.suite import SuiteLeggedRobot


class HalfCheetah(SuiteLeggedRobot):
    xml = "cheetah.xml"
    description = "planar half-cheetah, 6 torque-controlled joints (dm_control MJCF)"
