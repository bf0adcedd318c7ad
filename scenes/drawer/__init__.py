"""DrawerOpen: hold the drawer's handle and pull the drawer out at least 12 cm.

Stages: ``reached``, ``grasped`` (handle between both fingers), ``opening`` (past a fifth of the
way), ``open``. Variations: the cabinet's place on the table, the drawer front's colour, the
drawer's damping and how far it starts ajar (wider ranges with difficulty).
"""

from __future__ import annotations

import numpy as np

from scenes.cabinet import FRONT_COLOURS, CabinetTask
from workbench.assets import asset
from workbench.sim.physics import Physics
from workbench.task import Vocabulary


class DrawerOpenTask(CabinetTask):
    name = "DrawerOpen"
    arena = asset("scenes", "drawer", "arena.xml")
    description = "open the drawer"
    vocabulary = Vocabulary(
        objects={"drawer": ("drawer",), "handle": ("handle", "knob", "pull")},
        colours=FRONT_COLOURS,
        relations=("open", "pull", "out"),
        places={"cabinet": ("cabinet", "chest", "dresser")},
    )
    stage_names = ("reached", "grasped", "opening", "open")
    goal_roles = ("drawer",)
    joint = "drawer"
    front_geom = "drawer_front"
    open_at = 0.12

    def pull_target(self, physics: Physics) -> np.ndarray:
        return self.grip_point(physics) - (0.03, 0.0, 0.0)

    def goal_text(self) -> str:
        return f"open the {self.colour} drawer"
