"""PickPlace: pick a cube up and put it down inside a walled tray.

Stages: ``reached`` (hand at the cube), ``grasped`` (held between both fingers), ``lifted``
(held above the table), ``over_tray``, ``placed`` (resting in the tray and let go). Difficulty 0
puts cube and tray 20-25 cm apart in front of the arm; difficulty 1 anywhere on the reachable
table, with varied cube size, mass and friction.
"""

from __future__ import annotations

import math

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

TRAY_INNER = 0.057  # half width inside the walls
TRAY_FLOOR = 0.006
CUBE_COLOURS = ("red", "blue", "yellow", "purple", "orange")


class PickPlaceTask(Task):
    name = "PickPlace"
    tags = ("manipulation", "arm", "tabletop", "grasping")
    robot = "arm6"
    stand_ins = ("arm7", "so101", "panda")
    arena = asset("scenes", "pick_place", "arena.xml")
    description = "put the cube in the green tray"
    default_control_mode = "ee_delta"
    control_dt = 0.04
    episode_steps = 150
    cameras = ("front", "top", "robot/wrist_cam")
    vocabulary = Vocabulary(
        objects={"cube": ("cube", "block", "box")},
        colours=CUBE_COLOURS + ("green",),
        relations=("in", "into", "inside", "onto"),
        places={"tray": ("tray", "bin", "box", "container")},
    )
    stage_names = ("reached", "grasped", "lifted", "over_tray", "placed")
    goal_roles = ("cube", "tray")
    goal_colours = {"cube": CUBE_COLOURS, "tray": ("green",)}
    mirrored_layouts = True
    # Cameras framed on the objects, an encoder pretrained to read where things are (progress
    # from the distances between them) and a success head that keeps failed takes off the
    # time head: from one demo Spearman 0.84 -> 0.96, all pairs right (docs/BENCHMARKS.md,
    # "perceptual progress").
    perceptual_options = {"cameras": ("near_front", "near_top"), "min_steps": 1200,
                          "pretrain": 2000, "success_head": True}
    viewer = {"lookat": (0.4, 0.0, 0.1), "distance": 1.3, "azimuth": 150, "elevation": -32}
    reference_weights = {"reach": 0.1, "grasp": 0.15, "carry": 0.5, "placed": 0.25}

    def bind(self, physics: Physics, robot: TabletopArm) -> None:  # type: ignore[override]
        model = physics.model
        self.arm = robot
        robot.prepare_for_grasping(physics)  # damped servos, a firm grip
        self.cube = FreeObject(physics, "cube", half=0.02)
        self._tray = model.body("tray").mocapid[0]
        self.start_distance = 0.2

    def initialize_episode(self, physics: Physics, rng: np.random.Generator) -> None:
        d = self.difficulty
        self.cube.vary(physics, rng, d, self.draw_colour("cube", rng))
        physics.recompute_constants()
        arm = self.arm
        if d < 0.5:
            cube = np.array([0.42, -0.1]) + rng.uniform(-0.03, 0.03, size=2)
            tray = np.array([0.42, 0.12]) + rng.uniform(-0.03, 0.03, size=2)
            if rng.uniform() < 0.5:  # either side
                cube[1], tray[1] = -cube[1], -tray[1]
            cube, tray = arm.on_table(cube), arm.on_table(tray)
        else:  # apart enough that the cube never starts on the tray's wall
            cube, tray = spread_apart(rng, arm.on_table((0.3, -0.25)), arm.on_table((0.55, 0.25)),
                                      2, gap=max(0.16 * arm.table_scale, 0.11))
        if np.linalg.norm(tray - cube) < 0.11:  # a small arm's layout: keep the tray clear
            tray = cube + 0.11 * (tray - cube) / np.linalg.norm(tray - cube)
        self.cube.place(physics, cube)
        physics.data.mocap_pos[self._tray] = (*tray, 0.0)
        place_hand_at_start(arm, physics, rng)
        self.start_distance = float(np.linalg.norm(tray - cube))

    # -- named accessors ---------------------------------------------------------------------
    def tray_position(self, physics: Physics) -> np.ndarray:
        return physics.data.mocap_pos[self._tray]

    def held(self, physics: Physics) -> bool:
        return fingers_touch(physics, self.arm.finger_geoms, self.cube.geom)

    # -- observations and ground truth -------------------------------------------------------
    def features(self) -> dict[str, int]:
        return {"cube_pos": 3, "tray_pos": 3, "hand_to_cube": 3, "cube_to_tray": 3}

    def mirror(self) -> dict[str, Mirror]:
        return lateral_mirror(self.features())  # symmetric layouts; every feature a point

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        cube = self.cube.position(physics)
        tray = self.tray_position(physics)
        return {
            "cube_pos": cube,
            "tray_pos": tray,
            "hand_to_cube": cube - self.arm.ee_position(physics),
            "cube_to_tray": tray - cube,
        }

    def evaluate(self, physics: Physics) -> dict:
        cube = self.cube.position(physics)
        tray = self.tray_position(physics)
        hand = self.arm.ee_position(physics)
        half = self.cube.half
        reach_gap = float(np.linalg.norm(hand - cube - (0.0, 0.0, 0.01)))
        gap_xy = math.hypot(tray[0] - cube[0], tray[1] - cube[1])
        held = self.held(physics)
        lifted = held and cube[2] > half + 0.02
        inside = max(abs(tray[0] - cube[0]), abs(tray[1] - cube[1])) < TRAY_INNER - 0.5 * half
        resting = inside and cube[2] < TRAY_FLOOR + half + 0.01
        success = resting and not held
        carried = min(max(1.0 - gap_xy / self.start_distance, 0.0), 1.0)
        if not (held or inside):
            carried = 0.0  # the cube only counts as carried while held (or once it is in)
        stages = {"lifted": lifted, "over_tray": inside, "placed": success}
        return carry_truth(reach_gap, held, carried, resting, success, stages, "placed")

    def scatter(self, physics: Physics, rng: np.random.Generator) -> None:
        scatter_arm_scene(self.arm, physics, rng, (self.cube,), self.tray_place(physics))

    def object_colours(self, physics: Physics) -> dict[str, str]:
        return {"cube": self.cube.colour, "tray": "green"}

    def goal_text(self) -> str:
        return f"put the {self.cube.colour} cube in the green tray"

    # -- demonstrations ----------------------------------------------------------------------
    def scripted_policy(self, rng: np.random.Generator) -> ScriptedPolicy:
        return PhaseScript(self.arm, pick_and_place_phases(self, self.cube, self.tray_place), rng)

    def perturbed_policy(self, rng: np.random.Generator) -> ScriptedPolicy:
        """Competent grasp and carry, but lets go short of the tray or beside it."""
        miss = rng.uniform(0.1, 0.16) * np.array([math.cos(a := rng.uniform(0, 2 * math.pi)),
                                                   math.sin(a)])

        def beside(physics: Physics) -> np.ndarray:
            return self.tray_place(physics) + (*miss, 0.0)

        return PhaseScript(self.arm, pick_and_place_phases(self, self.cube, beside), rng)

    def tray_place(self, physics: Physics) -> np.ndarray:
        """Where the cube's centre should go: the tray's middle, just above its floor."""
        return self.tray_position(physics) + (0.0, 0.0, TRAY_FLOOR + self.cube.half + 0.012)

