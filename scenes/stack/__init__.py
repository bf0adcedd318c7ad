"""Stack: pick one cube up and set it down on top of another.

Stages: ``reached``, ``grasped``, ``lifted``, ``aligned`` (held above the base), ``stacked``
(resting on the base and let go). The two cubes always differ in colour, so a goal can name
either ("stack the yellow cube on the blue one"). Difficulty 0 puts them 18-24 cm apart in front
of the arm; difficulty 1 anywhere on the reachable table, with varied sizes, masses and friction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from robots.tabletop import TabletopArm
from scenes.tabletop import (
    FreeObject,
    PhaseScript,
    carry_truth,
    fingers_touch,
    pick_and_place_phases,
    place_hand_at_start,
    scatter_arm_scene,
    spread_apart,
)
from workbench.assets import asset
from workbench.sim.mirror import Mirror, lateral_mirror
from workbench.sim.physics import Physics
from workbench.task import ScriptedPolicy, Task, Vocabulary

CUBE_COLOURS = ("red", "blue", "yellow", "purple", "orange", "green")
# A small arm (the SO-101, whose top-down reach ends 8 cm over the table) cannot carry a 4 cm
# cube over a 5 cm one: for it they are 3.2 and 3.6 cm, on a table scaled to its reach, and the
# cube is set down rather than dropped, as one that tilts in its jaws falls off centre.
SMALL_ARM_CUBE, SMALL_ARM_BASE = 0.8, 0.72  # of the arena's cubes' sizes
SMALL_ARM_GAP = 0.09  # the least distance between the cubes' centres on its table
DROP = 0.008  # how far the nominal arm lets the cube fall onto the base
ALIGNED = 0.015  # xy offset of the top cube's centre from the base's that counts as on top


class StackTask(Task):
    name = "Stack"
    tags = ("manipulation", "arm", "tabletop", "grasping", "multi-stage")
    robot = "arm6"
    stand_ins = ("arm7", "so101", "panda")
    arena = asset("scenes", "stack", "arena.xml")
    description = "stack the small cube on the big cube"
    default_control_mode = "ee_delta"
    control_dt = 0.04
    episode_steps = 150
    cameras = ("front", "top", "robot/wrist_cam")
    vocabulary = Vocabulary(
        objects={"cube": ("cube", "block", "small cube"), "base": ("base", "big cube", "tower")},
        colours=CUBE_COLOURS,
        relations=("on", "onto", "on top of", "above"),
    )
    stage_names = ("reached", "grasped", "lifted", "aligned", "stacked")
    goal_roles = ("cube", "base")
    goal_colours = {"cube": CUBE_COLOURS, "base": CUBE_COLOURS}
    mirrored_layouts = True
    # Cameras framed on the objects, an encoder pretrained to read where things are (progress
    # from the distances between them) and a success head that keeps failed takes off the
    # time head: from one demo Spearman 0.64 -> 0.96, 98% of pairs (docs/BENCHMARKS.md,
    # "perceptual progress").
    perceptual_options = {"cameras": ("near_front", "near_top"), "min_steps": 1200,
                          "pretrain": 2000, "success_head": True}
    viewer = {"lookat": (0.4, 0.0, 0.1), "distance": 1.2, "azimuth": 150, "elevation": -28}
    reference_weights = {"reach": 0.1, "grasp": 0.15, "carry": 0.5, "stacked": 0.25}

    def bind(self, physics: Physics, robot: TabletopArm) -> None:  # type: ignore[override]
        self.arm = robot
        robot.prepare_for_grasping(physics)  # damped servos, a firm grip
        small = robot.table_scale < 1
        self.cube = FreeObject(physics, "cube", half=0.02, size=SMALL_ARM_CUBE if small else 1)
        self.base = FreeObject(physics, "base", half=0.025, size=SMALL_ARM_BASE if small else 1)
        self.drop = 0.0 if small else DROP
        self.start_distance = 0.2

    @classmethod
    def check_colours(cls, colours: Mapping[str, str | None]) -> dict[str, str]:
        wanted = super().check_colours(colours)
        if "cube" in wanted and wanted.get("base") == wanted["cube"]:
            raise ValueError(f"{cls.name}'s two cubes always differ in colour: name two")
        return wanted

    def initialize_episode(self, physics: Physics, rng: np.random.Generator) -> None:
        d = self.difficulty
        # Drawn either way, so the rest of the seed's episode is the same. A cube named in the
        # colour the other drew passes the other its own draw: the two still differ.
        drawn = dict(zip(("cube", "base"), map(str, rng.choice(CUBE_COLOURS, size=2,
                                                               replace=False)), strict=True))
        shown = {**drawn, **self.requested_colours}
        if shown["cube"] == shown["base"]:
            named, other = ("cube", "base") if "cube" in self.requested_colours else (
                "base", "cube")
            shown[other] = drawn[named]
        self.cube.vary(physics, rng, d, shown["cube"])
        self.base.vary(physics, rng, d, shown["base"])
        physics.recompute_constants()
        if d < 0.5:
            cube = np.array([0.42, -0.09]) + rng.uniform(-0.03, 0.03, size=2)
            base = np.array([0.42, 0.1]) + rng.uniform(-0.03, 0.03, size=2)
            if rng.uniform() < 0.5:
                cube[1], base[1] = -cube[1], -base[1]
            cube, base = self.arm.on_table(cube), self.arm.on_table(base)
        else:
            cube, base = spread_apart(rng, self.arm.on_table((0.3, -0.25)),
                                      self.arm.on_table((0.55, 0.25)), 2,
                                      gap=max(0.12 * self.arm.table_scale, SMALL_ARM_GAP))
        self.cube.place(physics, cube)
        self.base.place(physics, base)
        place_hand_at_start(self.arm, physics, rng)
        self.start_distance = float(np.linalg.norm(base - cube))

    def held(self, physics: Physics) -> bool:
        return fingers_touch(physics, self.arm.finger_geoms, self.cube.geom)

    def stack_height(self) -> float:
        """Height of the top cube's centre when it rests on the base."""
        return 2 * self.base.half + self.cube.half

    # -- observations and ground truth -------------------------------------------------------
    def features(self) -> dict[str, int]:
        return {"cube_pos": 3, "base_pos": 3, "hand_to_cube": 3, "cube_to_base": 3}

    def mirror(self) -> dict[str, Mirror]:
        return lateral_mirror(self.features())  # symmetric layouts; every feature a point

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        cube = self.cube.position(physics)
        base = self.base.position(physics)
        return {
            "cube_pos": cube,
            "base_pos": base,
            "hand_to_cube": cube - self.arm.ee_position(physics),
            "cube_to_base": base - cube,
        }

    def evaluate(self, physics: Physics) -> dict:
        cube = self.cube.position(physics)
        base = self.base.position(physics)
        hand = self.arm.ee_position(physics)
        reach_gap = float(np.linalg.norm(hand - cube - (0.0, 0.0, 0.01)))
        gap_xy = math.hypot(base[0] - cube[0], base[1] - cube[1])
        held = self.held(physics)
        lifted = held and cube[2] > self.cube.half + 0.02
        above = cube[2] > base[2] + self.base.half
        aligned = gap_xy < ALIGNED and above
        resting = aligned and abs(cube[2] - (base[2] + self.base.half + self.cube.half)) < 0.008
        upright_base = abs(base[2] - self.base.half) < 0.005  # the base stayed on the table
        success = resting and upright_base and not held
        carried = min(max(1.0 - gap_xy / self.start_distance, 0.0), 1.0) if (held or above) else 0
        stages = {"lifted": lifted, "aligned": aligned, "stacked": success}
        return carry_truth(reach_gap, held, carried, resting, success, stages, "stacked")

    def scatter(self, physics: Physics, rng: np.random.Generator) -> None:
        scatter_arm_scene(self.arm, physics, rng, (self.cube,), self.on_base(physics))

    def object_colours(self, physics: Physics) -> dict[str, str]:
        return {"cube": self.cube.colour, "base": self.base.colour}

    def goal_text(self) -> str:
        return f"stack the {self.cube.colour} cube on the {self.base.colour} cube"

    # -- demonstrations ----------------------------------------------------------------------
    def scripted_policy(self, rng: np.random.Generator) -> ScriptedPolicy:
        let_go = self.arm.gripper_action(self.arm.gentle_release)
        return PhaseScript(
            self.arm, pick_and_place_phases(self, self.cube, self.on_base, let_go), rng)

    def perturbed_policy(self, rng: np.random.Generator) -> ScriptedPolicy:
        """Competent grasp and carry, but sets the cube down beside the base, or drops it from
        too high and off-centre so it tumbles off."""
        angle = rng.uniform(0, 2 * math.pi)
        offset = rng.uniform(0.06, 0.1) * np.array([math.cos(angle), math.sin(angle), 0.0])
        if rng.uniform() < 0.5:
            offset[2] = -self.stack_height() + self.cube.half  # down on the table
        else:
            offset[:2] *= 0.35  # half off the edge
            offset[2] = 0.03

        def beside(physics: Physics) -> np.ndarray:
            return self.on_base(physics) + offset

        return PhaseScript(self.arm, pick_and_place_phases(self, self.cube, beside), rng)

    def on_base(self, physics: Physics) -> np.ndarray:
        """Where the cube's centre should go: on the base, with a little clearance to drop
        (none for a small arm, which sets it down)."""
        base = self.base.position(physics)
        return base + (0.0, 0.0, self.base.half + self.cube.half + self.drop)
