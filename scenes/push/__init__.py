"""Push: slide a cube onto a target pad on a table with the 6-DoF arm.

Difficulty 0 starts the hand behind the cube with the pad 10 cm ahead; difficulty 1 spreads cube,
pad and hand over the table in any direction, with varied cube size, mass and friction.
Default control is planar end-effector deltas: pushing happens in the table plane, and two action
dimensions learn several times faster than four (``control_mode="ee_delta"`` gives all four).
"""

from __future__ import annotations

import math

import numpy as np

from robots.tabletop import TabletopArm, place_end_effector
from workbench.assets import asset
from workbench.sim.mirror import Mirror, lateral_mirror
from workbench.sim.physics import Physics
from workbench.task import ScriptedPolicy, Task, Vocabulary, tolerance

COLOURS = {
    "red": (0.85, 0.15, 0.12),
    "blue": (0.15, 0.3, 0.85),
    "yellow": (0.92, 0.8, 0.1),
    "purple": (0.55, 0.2, 0.7),
    "orange": (0.95, 0.5, 0.1),
}
SUCCESS_RADIUS = 0.03
# How far inside the arm's workspace the pad stays: on the SO-101's scaled table the pad fell
# on the edge of its reach, where the hand could not get round a cube that drifted past it
# (Push at difficulty 1, seeds 100-199: 77 of 100 scripted episodes; 84-85 with 1-4 cm kept).
PAD_MARGIN = 0.02


class PushTask(Task):
    name = "Push"
    tags = ("manipulation", "arm", "tabletop")
    robot = "arm6"
    stand_ins = ("arm7", "so101", "panda")
    arena = asset("scenes", "push", "arena.xml")
    description = "push the cube onto the green pad"
    default_control_mode = "ee_delta_planar"
    control_dt = 0.04
    episode_steps = 80
    cameras = ("front", "top", "robot/wrist_cam")
    # An encoder pretrained to read where hand, cube and pad are, progress from the distances
    # between them, and a success head so the cube on the pad outweighs the hand at the cube:
    # one demo with failed takes 0.965 / 1.00 (Spearman / success above failure; plain 0.72 /
    # 1.00), and PPO on it 90-100% (docs/BENCHMARKS.md, "pixels to policy").
    perceptual_options = {"pretrain": 2000, "heights": False, "success_head": True}
    # Progress from where the hand is relative to the cube and the cube relative to the pad:
    # with every feature, demos that all push along +x teach "the cube moved forward", which
    # pays as well past the pad (0% success; with these two, 86% from 5 demos, and on the
    # loop's takes 0.43 against 0.25 at 80k steps; docs/BENCHMARKS.md, "Push from 5
    # demonstrations" and "the reward-hacking guard on Push").
    progress_options = {"inputs": ("hand_to_cube", "cube_to_target")}
    vocabulary = Vocabulary(
        objects={"cube": ("cube", "block", "box")},
        colours=tuple(COLOURS) + ("green",),
        relations=("onto", "into", "to", "towards"),
        places={"pad": ("pad", "target", "goal", "marker")},
    )
    stage_names = ("reached", "moving", "placed")
    goal_roles = ("cube", "pad")
    viewer = {"lookat": (0.35, 0.0, 0.1), "distance": 1.4, "azimuth": 150, "elevation": -30}
    reference_weights = {"reach": 0.2, "push": 0.6, "placed": 0.2}
    goal_features = ("target_pos", "cube_to_target")
    goal_tolerance = SUCCESS_RADIUS  # in the table plane, as success measures it
    goal_colours = {"cube": tuple(COLOURS), "pad": ("green",)}

    def bind(self, physics: Physics, robot: TabletopArm) -> None:  # type: ignore[override]
        model = physics.model
        self.arm = robot
        self._cube_body = model.body("cube").id
        self._cube_geom = model.geom("cube").id
        self._cube_qpos = model.joint("cube").qposadr[0]
        self._cube_dof = model.joint("cube").dofadr[0]
        self._target_mocap = model.body("target").mocapid[0]
        self._base_mass = float(model.body_mass[self._cube_body])
        self._base_inertia = model.body_inertia[self._cube_body].copy()
        self._base_friction = model.geom_friction[self._cube_geom].copy()
        self.colour = "red"
        self.half = 0.02
        self.start_distance = 0.1

    # -- episode ---------------------------------------------------------------------------
    def initialize_episode(self, physics: Physics, rng: np.random.Generator) -> None:
        model, data, d = physics.model, physics.data, self.difficulty
        self.colour = self.draw_colour("cube", rng)
        model.geom_rgba[self._cube_geom, :3] = COLOURS[self.colour]
        scale = 1.0 + 0.25 * d * rng.uniform(-1, 1)
        self.half = 0.02 * scale
        model.geom_size[self._cube_geom] = self.half
        model.geom_rbound[self._cube_geom] = self.half * np.sqrt(3)
        model.geom_aabb[self._cube_geom, 3:] = self.half
        mass_scale = scale**3 * (1.0 + 0.3 * d * rng.uniform(-1, 1))
        model.body_mass[self._cube_body] = self._base_mass * mass_scale
        model.body_inertia[self._cube_body] = self._base_inertia * mass_scale * scale**2
        friction_scale = 1 + 0.3 * d * rng.uniform(-1, 1)
        model.geom_friction[self._cube_geom] = self._base_friction * friction_scale
        physics.recompute_constants()  # masses and sizes changed: refresh derived quantities

        arm = self.arm
        cube = np.array([0.42 + 0.08 * d * rng.uniform(-1, 1), 0.15 * d * rng.uniform(-1, 1)])
        cube = arm.on_table(cube + rng.uniform(-0.01, 0.01, size=2))
        angle = rng.uniform(-1, 1) * (0.4 + (np.pi - 0.4) * d)
        direction = np.array([np.cos(angle), np.sin(angle)])
        distance = 0.10 + 0.10 * d * rng.uniform(0, 1)
        # The pad where the hand can still get round the cube: 2 cm inside a small arm's reach.
        target = np.clip(cube + distance * direction,
                         *arm.table_box([0.25, -0.35], [0.62, 0.35], margin=PAD_MARGIN))
        if d < 0.5:
            hand = cube - np.array([0.07, 0.0]) + rng.uniform(-0.01, 0.01, size=2)
        else:  # anywhere on the table, but not inside the cube
            hand = cube + rng.uniform(0.08, 0.15) * _unit(rng.normal(size=2))
            hand = np.clip(hand, arm.on_table([0.22, -0.35]), arm.on_table([0.62, 0.35]))

        data.qpos[self._cube_qpos : self._cube_qpos + 3] = (*cube, self.half)
        data.qpos[self._cube_qpos + 3 : self._cube_qpos + 7] = (1, 0, 0, 0)
        data.qvel[self._cube_dof : self._cube_dof + 6] = 0
        data.mocap_pos[self._target_mocap] = (*target, 0.0005)
        arm.turn_jaws(physics, target - cube)  # a one-jawed gripper's bar in line with the push
        place_end_effector(arm, physics, np.array([*hand, arm.push_height]))
        self.start_distance = float(np.linalg.norm(target - cube))

    def scatter(self, physics: Physics, rng: np.random.Generator) -> None:
        """The hand at pushing height near its start, the cube or the pad; the cube left where
        the reset put it, pushed on (or near) the pad, or against the hand's front."""
        data = physics.data
        cube = self.cube_position(physics)[:2].copy()
        pad = self.target_position(physics)[:2].copy()
        hand = self.arm.ee_position(physics)[:2].copy()
        draw = rng.uniform()
        if draw < 0.3:
            cube = pad + rng.normal(0.0, 0.03, 2)
        elif draw < 0.5:
            cube = cube + rng.normal(0.0, 0.05, 2)
        anchor = (hand, cube, pad)[rng.integers(3)]
        where = anchor + rng.normal(0.0, 0.01 if rng.uniform() < 0.25 else 0.06, 2)
        if rng.uniform() < 0.3:  # right behind the cube, as while pushing it
            where = cube - (self.half + 0.03) * _unit(rng.normal(size=2))
        data.qpos[self._cube_qpos : self._cube_qpos + 3] = (*cube, self.half)
        place_end_effector(self.arm, physics, np.array([*where, self.arm.push_height]))

    # -- named accessors ---------------------------------------------------------------------
    def cube_position(self, physics: Physics) -> np.ndarray:
        return physics.data.xpos[self._cube_body]

    def target_position(self, physics: Physics) -> np.ndarray:
        return physics.data.mocap_pos[self._target_mocap]

    def achieved_goal(self, physics: Physics) -> np.ndarray:
        return self.cube_position(physics)[:2].copy()

    def desired_goal(self, physics: Physics) -> np.ndarray:
        return self.target_position(physics)[:2].copy()

    def place_goal(self, physics: Physics, goal: np.ndarray) -> None:
        physics.data.mocap_pos[self._target_mocap, :2] = goal

    def cube_to_target(self, physics: Physics) -> float:
        delta = self.target_position(physics)[:2] - self.cube_position(physics)[:2]
        return float(np.hypot(*delta))

    def push_point(self, physics: Physics) -> np.ndarray:
        """Where the hand must be (xy) to push the cube straight at the target."""
        cube = self.cube_position(physics)[:2]
        direction = _unit(self.target_position(physics)[:2] - cube)
        return cube - direction * (self.half + 0.03)

    def hand_to_push_point(self, physics: Physics) -> float:
        hand = self.arm.pushing_point(physics)[:2]
        return float(np.linalg.norm(hand - self.push_point(physics)))

    # -- observations and ground truth -------------------------------------------------------
    def features(self) -> dict[str, int]:
        return {"cube_pos": 3, "target_pos": 3, "hand_to_cube": 3, "cube_to_target": 3}

    def mirror(self) -> dict[str, Mirror]:
        return lateral_mirror(self.features())  # symmetric layouts; every feature a point

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        cube = self.cube_position(physics)
        target = self.target_position(physics)
        return {
            "cube_pos": cube,
            "target_pos": target,
            "hand_to_cube": cube - self.arm.ee_position(physics),
            "cube_to_target": target - cube,
        }

    def evaluate(self, physics: Physics) -> dict:
        """Ground truth from two measured distances, computed once per step."""
        # Plain float arithmetic: numpy's per-call overhead dominates on 2-vectors.
        cx, cy, cz = self.cube_position(physics)
        tx, ty, _ = self.target_position(physics)
        hx, hy, _ = self.arm.pushing_point(physics)  # the part of the hand that pushes
        dx, dy = tx - cx, ty - cy
        distance = math.hypot(dx, dy)
        ux, uy = (dx / distance, dy / distance) if distance > 1e-9 else (1.0, 0.0)
        reach_back = self.half + 0.03
        hand_gap = math.hypot(hx - (cx - ux * reach_back), hy - (cy - uy * reach_back))
        success = distance < SUCCESS_RADIUS and abs(cz - self.half) < 0.01
        if success:
            progress = 1.0
        else:
            reach = min(max(1.0 - hand_gap / 0.2, 0.0), 1.0)
            pushed = (self.start_distance - distance) / max(
                self.start_distance - SUCCESS_RADIUS, 1e-6
            )
            progress = 0.25 * reach + 0.75 * min(max(pushed, 0.0), 1.0)
        return {
            "success": success,
            "progress": progress,
            "stages": {
                "reached": hand_gap < 0.025,
                "moving": self.start_distance - distance > 0.01,
                "placed": success,
            },
            "terms": {
                "reach": tolerance(hand_gap, 0.15),
                "push": tolerance(distance, self.start_distance),
                "placed": float(success),
            },
        }

    def object_colours(self, physics: Physics) -> dict[str, str]:
        return {"cube": self.colour, "pad": "green"}

    def goal_text(self) -> str:
        return f"push the {self.colour} cube onto the green pad"

    def scripted_policy(self, rng: np.random.Generator) -> ScriptedPolicy:
        return ScriptedPush(self, rng)

    def perturbed_policy(self, rng: np.random.Generator) -> ScriptedPolicy:
        """Pushes just as competently, but past the pad or towards a decoy 60-150 degrees off."""
        if rng.uniform() < 0.5:
            return ScriptedPush(self, rng, overshoot=rng.uniform(0.07, 0.14))
        return ScriptedPush(self, rng, decoy=rng.choice([-1, 1]) * rng.uniform(1.05, 2.6))


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 1e-9 else np.array([1.0, 0.0])


class ScriptedPush:
    """Go behind the cube (around it if needed), then push it along the line to the pad."""

    def __init__(
        self,
        task: PushTask,
        rng: np.random.Generator,
        noise: float = 0.05,
        decoy: float | None = None,
        overshoot: float = 0.0,
        stop_within: float = 0.018,
    ):
        self.task = task
        self.rng = rng
        self.noise = noise
        self.decoy = decoy  # push this many radians off the target direction (a negative)
        self.overshoot = overshoot  # push this far past the pad (a negative)
        self.stop_within = stop_within  # hold still once the cube is this close to the pad
        self.done = False  # once there, stay put: re-approaching a placed cube knocks it off

    def __call__(self, physics: Physics) -> np.ndarray:
        task = self.task
        hand3 = task.arm.ee_position(physics)
        hand = task.arm.pushing_point(physics)[:2]
        cube = task.cube_position(physics)[:2]
        direction = _unit(task.target_position(physics)[:2] - cube)
        remaining = task.cube_to_target(physics) + self.overshoot
        if self.overshoot:  # aim at a point beyond the pad, on the same line
            aim = task.target_position(physics)[:2] + direction * self.overshoot
            remaining = float(np.linalg.norm(aim - cube))
        if self.decoy is not None:
            c, s = np.cos(self.decoy), np.sin(self.decoy)
            direction = np.array([[c, -s], [s, c]]) @ direction
            remaining = 1.0
        behind = cube - direction * (task.half + 0.03)
        rel = hand - cube
        along = rel @ direction
        lateral = rel - along * direction
        max_step = task.arm.max_step
        behind_cube = along < -(task.half + 0.005)
        # the servos still close ~5 mm of lag after the hand stops
        self.done = self.done or remaining < self.stop_within
        if self.done:  # close enough: let it coast, hold still
            goal = hand
        elif behind_cube and np.linalg.norm(lateral) < 0.02:  # aligned: push, steering back
            speed = max_step * np.clip(remaining / 0.06, 0.15, 0.8)  # ease in near the pad
            goal = hand + speed * direction - 0.3 * lateral
        elif behind_cube:  # behind but off the line: line up at the push point
            goal = behind
        else:  # beside or in front of the cube: go round it
            side = _unit(lateral) if np.linalg.norm(lateral) > 1e-3 else np.array(
                [-direction[1], direction[0]]
            )
            goal = cube + side * (task.half + 0.05) - direction * (task.half + 0.03)
        action_xy = np.clip((goal - hand) / max_step, -1.0, 1.0)
        action_xy = np.clip(action_xy + self.noise * self.rng.normal(size=2), -1.0, 1.0)
        dz = np.clip((task.arm.push_height - hand3[2]) / max_step, -1.0, 1.0)
        if task.control_mode == "ee_delta_planar":
            return action_xy
        if task.control_mode != "ee_delta":
            raise ValueError(f"the scripted push needs an ee_delta mode, not {task.control_mode}")
        return np.array([*action_xy, dz, -1.0])
