"""Humanoid: a 21-joint torque-controlled biped with arms.

The MJCF is dm_control's ``suite/humanoid.xml`` (Apache-2.0, DeepMind), loaded from the installed
package; ``robots.suite`` keeps the robot and drops dm_control's floor and lights. Hardware
mapping: the 21 motors in file order (abdomen, hips, knees, ankles, shoulders, elbows), torques
normalised to [-1, 1] by each motor's gear.
"""

import numpy as np

from robots.suite import SuiteLeggedRobot
from workbench.sim.mirror import Mirror
from workbench.sim.physics import Physics


class Humanoid(SuiteLeggedRobot):
    xml = "humanoid.xml"
    description = "humanoid, 21 torque-controlled joints (dm_control MJCF)"
    feature_notes = {**SuiteLeggedRobot.feature_notes,
                     "head_height": "the head's height above the floor (m): about 1.6 "
                                    "standing straight"}

    def bind(self, physics: Physics) -> None:
        super().bind(physics)
        self._head = physics.model.body(self.name("head")).id

    def head_height(self, physics: Physics) -> float:
        return float(physics.data.xpos[self._head, 2])

    def features(self) -> dict[str, int]:
        return {**super().features(), "head_height": 1}

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        return {**super().observe(physics), "head_height": physics.data.xpos[self._head, 2:3]}

    def mirror(self) -> dict[str, Mirror] | None:
        body = super().mirror()
        return None if body is None else {**body, "head_height": Mirror((1.0,))}
