"""DrawerOpen: hold the drawer's handle and pull the drawer out at least 12 cm (a small arm's
cabinet, made smaller, as much less).

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
    goal_colours = {"drawer": FRONT_COLOURS}
    # The SO-101's fixed pad, coming down flush with the handle, landed on it now and then
    # (with its soft pads, 148 of 160 scripted episodes at difficulty 0; 158 of 160 2 mm off).
    descent_clearance = 0.002
    # An encoder pretrained on scattered states, so progress reads the drawer's travel, and a
    # success head, so an open drawer pays more than a hand at the handle: the plain model,
    # from one demo, learnt the arm's pose at the handle and scored a policy holding the shut
    # drawer's front 0.95-0.99 (docs/BENCHMARKS.md, pixels to policy).
    perceptual_options = {"pretrain": 2000, "success_head": True}
    joint = "drawer"
    front_geom = "drawer_front"
    open_at = 0.12

    def pull_target(self, physics: Physics) -> np.ndarray:
        return self.grip_point(physics) - (0.03 * self.scale, 0.0, 0.0)

    def goal_text(self) -> str:
        return f"open the {self.colour} drawer"
