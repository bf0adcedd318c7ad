"""Shared parts of the tabletop manipulation scenes: object variations and scripted demonstrators.

Every arm scene varies its objects the same way (colour, size, mass, friction behind the
difficulty knob) and demonstrates the same way: a short list of phases, each a grip-site target
and a gripper command, followed with the arm's ``ee_delta`` control. Keeping both here means a
new scene is its arena, its ground truth and its phase list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.sim.physics import Physics
from workbench.task import tolerance

COLOURS = {
    "red": (0.85, 0.15, 0.12),
    "blue": (0.15, 0.3, 0.85),
    "yellow": (0.92, 0.8, 0.1),
    "purple": (0.55, 0.2, 0.7),
    "orange": (0.95, 0.5, 0.1),
    "green": (0.15, 0.7, 0.25),
}
OPEN, CLOSED = 1.0, -1.0


class FreeObject:
    """A box with a free joint: its pose, and seeded variations of its look and dynamics."""

    def __init__(self, physics: Physics, name: str, half: float, size: float = 1.0):
        """``half``: the half-width the arena gives the box; ``size`` scales it with its mass
        and inertia (a box made smaller for a small arm)."""
        model = physics.model
        self.name = name
        self.body = model.body(name).id
        self.geom = model.geom(name).id
        self.qpos = model.joint(name).qposadr[0]
        self.dof = model.joint(name).dofadr[0]
        self.base_half = half * size
        self.half = self.base_half
        self.colour = "red"
        self._mass = float(model.body_mass[self.body]) * size**3
        self._inertia = model.body_inertia[self.body].copy() * size**5
        self._friction = model.geom_friction[self.geom].copy()

    def vary(self, physics: Physics, rng: np.random.Generator, difficulty: float,
             colour: str) -> None:
        """Colour always; size (+-25%), mass (+-30%) and friction (+-30%) scaled by difficulty.

        The caller runs ``physics.recompute_constants()`` once after varying all objects."""
        model, d = physics.model, difficulty
        self.colour = colour
        model.geom_rgba[self.geom, :3] = COLOURS[colour]
        scale = 1.0 + 0.25 * d * rng.uniform(-1, 1)
        self.half = self.base_half * scale
        model.geom_size[self.geom] = self.half
        model.geom_rbound[self.geom] = self.half * np.sqrt(3)
        model.geom_aabb[self.geom, 3:] = self.half
        mass_scale = scale**3 * (1.0 + 0.3 * d * rng.uniform(-1, 1))
        model.body_mass[self.body] = self._mass * mass_scale
        model.body_inertia[self.body] = self._inertia * mass_scale * scale**2
        model.geom_friction[self.geom] = self._friction * (1 + 0.3 * d * rng.uniform(-1, 1))

    def place(self, physics: Physics, xy: Sequence[float], z: float | None = None) -> None:
        data = physics.data
        data.qpos[self.qpos : self.qpos + 3] = (xy[0], xy[1], self.half if z is None else z)
        data.qpos[self.qpos + 3 : self.qpos + 7] = (1, 0, 0, 0)
        data.qvel[self.dof : self.dof + 6] = 0

    def position(self, physics: Physics) -> np.ndarray:
        return physics.data.xpos[self.body]

    def speed(self, physics: Physics) -> float:
        return float(np.linalg.norm(physics.data.qvel[self.dof : self.dof + 3]))


def fingers_touch(physics: Physics, finger_geoms: tuple[int, int], geom: int) -> bool:
    """Both fingers in contact with ``geom``: the object is held between them."""
    touching = set()
    data = physics.data
    for i in range(data.ncon):
        pair = (data.contact.geom1[i], data.contact.geom2[i])
        if geom in pair:
            touching.update(g for g in pair if g in finger_geoms)
    return len(touching) == 2


def spread_apart(rng: np.random.Generator, low: Sequence[float], high: Sequence[float],
                 count: int, gap: float) -> list[np.ndarray]:
    """``count`` points uniform in the box [low, high], at least ``gap`` apart."""
    while True:
        points = [rng.uniform(low, high) for _ in range(count)]
        if all(np.linalg.norm(a - b) >= gap
               for i, a in enumerate(points) for b in points[i + 1:]):
            return points


def carry_truth(reach_gap: float, held: bool, carried: float, resting: bool, success: bool,
                stages: dict[str, bool], done_term: str) -> dict:
    """Ground truth of the pick-and-carry scenes (PickPlace, Stack) from their measurements.

    Progress: reaching (15%), holding (15%), carrying towards the place (60%), resting there (5%),
    and 1 on success; the scene adds its own named stages and names its success term.
    """
    if success:
        progress = 1.0
    else:
        reach = min(max(1.0 - reach_gap / 0.25, 0.0), 1.0)
        progress = 0.15 * reach + 0.15 * held + 0.6 * carried + 0.05 * resting
    return {
        "success": bool(success),
        "progress": progress,
        "stages": {"reached": reach_gap < 0.02, "grasped": held, **stages},
        "terms": {"reach": tolerance(reach_gap, 0.2), "grasp": float(held), "carry": carried,
                  done_term: float(success)},
    }


Target = Callable[[Physics], np.ndarray]


@dataclass(frozen=True)
class Phase:
    """Move the grip site to ``target`` with the gripper at ``gripper``, then wait ``hold`` ticks.

    The phase ends when the site is within ``tolerance`` of the target (or ``done`` says so)
    and the hold is over; ``speed`` caps the commanded step (1 = the controller's maximum)."""

    name: str
    target: Target
    gripper: float
    tolerance: float = 0.01
    hold: int = 0
    speed: float = 1.0
    done: Callable[[Physics], bool] | None = None


class PhaseScript:
    """A scripted demonstrator for ``ee_delta`` control: follows phases, adds action noise.

    Used for the scenes' demonstrations and for the test that each scene is solvable.
    """

    def __init__(self, arm, phases: Sequence[Phase], rng: np.random.Generator,
                 noise: float = 0.05, max_step: float | None = None, gain: float = 0.6):
        self.arm = arm
        self.phases = list(phases)
        self.rng = rng
        self.noise = noise
        self.max_step = max_step or arm.max_step  # the controller's step at |action| = 1
        self.gain = gain  # below 1: the servos lag the IK target, so full steps overshoot
        self.index = 0
        self._held = 0

    @property
    def phase(self) -> str:
        return self.phases[min(self.index, len(self.phases) - 1)].name

    def __call__(self, physics: Physics) -> np.ndarray:
        phase = self.phases[min(self.index, len(self.phases) - 1)]
        hand = self.arm.ee_position(physics)
        target = phase.target(physics)
        error = target - hand
        arrived = (phase.done(physics) if phase.done is not None
                   else float(np.linalg.norm(error)) < phase.tolerance)
        if arrived and self.index < len(self.phases):
            self._held += 1
            if self._held > phase.hold:
                self.index += 1
                self._held = 0
        move = np.clip(self.gain * error / self.max_step, -phase.speed, phase.speed)
        move = np.clip(move + self.noise * self.rng.normal(size=3), -1.0, 1.0)
        return np.array([*move, phase.gripper])


def grip_point(arm, obj: FreeObject, physics: Physics) -> np.ndarray:
    """Grip site target for a top-down grasp: where the arm holds a cube (a centimetre above
    the centre for the nominal arm; beside it where one jaw is fixed), finger tips off the
    table."""
    x, y, z = obj.position(physics)
    dx, dy, _ = arm.grasp_offset(physics, obj.geom)
    return np.array([x + dx, y + dy, max(z + arm.grip_above_centre, arm.grip_floor)])


def pick_and_place_phases(task, obj: FreeObject, place: Target,
                          let_go: float = OPEN) -> list[Phase]:
    """Top-down grasp of ``obj``, carry at a safe height, lower to ``place(physics)``, let go
    with the gripper at ``let_go`` (an action: -1 closed, 1 wide) until the hand has left."""
    carry = {}
    arm = task.arm
    carry_height = arm.carry_height

    def above_object(physics: Physics) -> np.ndarray:
        point = grip_point(arm, obj, physics)
        return np.array([*point[:2], min(point[2] + 0.08, arm.workspace_high[2])])

    def lift(physics: Physics) -> np.ndarray:
        hand = task.arm.ee_position(physics)
        carry["xy"] = carry.get("xy", hand[:2].copy())
        return np.array([*carry["xy"], carry_height])

    def held_offset(physics: Physics) -> np.ndarray:
        """Grip site minus object centre: corrects targets for where the fingers hold it."""
        return task.arm.ee_position(physics) - obj.position(physics)

    def over_place(physics: Physics) -> np.ndarray:
        xy = place(physics)[:2] + held_offset(physics)[:2]
        return np.array([*xy, carry_height])

    def lower(physics: Physics) -> np.ndarray:
        return place(physics) + held_offset(physics)

    def set_down(physics: Physics) -> bool:  # the object itself is where it should be
        return float(np.linalg.norm(obj.position(physics) - place(physics))) < 0.007

    def retreat(physics: Physics) -> np.ndarray:
        return np.array([*place(physics)[:2], min(carry_height + 0.03, arm.workspace_high[2])])

    return [
        Phase("approach", above_object, OPEN, tolerance=0.015),
        Phase("descend", lambda p: grip_point(arm, obj, p), OPEN, tolerance=0.006, speed=0.6),
        Phase("close", lambda p: grip_point(arm, obj, p), CLOSED, tolerance=1.0,
              hold=arm.close_ticks),
        Phase("lift", lift, CLOSED, tolerance=0.02),
        Phase("carry", over_place, CLOSED, tolerance=0.015),
        Phase("lower", lower, CLOSED, speed=0.6, done=set_down),
        Phase("release", lambda p: task.arm.ee_position(p).copy(), let_go, tolerance=1.0, hold=6),
        Phase("retreat", retreat, let_go, tolerance=0.01),
    ]


def place_hand_at_start(arm, physics: Physics, rng: np.random.Generator) -> None:
    """Where the grasping scenes start the hand: 35 cm out and 15 cm up, within 2 cm, moved
    into a small arm's reach (its table and its height)."""
    from robots.tabletop import place_end_effector

    hand = np.array([0.35, 0.0, 0.15]) + rng.uniform(-0.02, 0.02, size=3)
    place_end_effector(arm, physics, np.array([*arm.on_table(hand[:2]),
                                               min(hand[2], arm.workspace_high[2])]))


def scatter_arm_scene(arm, physics: Physics, rng: np.random.Generator,
                      objects: Sequence[FreeObject] = (), goal: np.ndarray | None = None) -> None:
    """``Task.scatter`` for a tabletop arm: the hand near the start, an object or the goal
    (a quarter of the time within about a centimetre of it), the fingers open anywhere
    between closed and wide; each object in the hand (30%), on or above the goal (20%),
    nudged on the table (20%) or where the reset put it."""
    from robots.tabletop import place_end_effector

    hand = arm.ee_position(physics).copy()
    anchors = [hand, *(o.position(physics).copy() for o in objects)]
    if goal is not None:
        anchors.append(np.asarray(goal, float))
    anchor = anchors[rng.integers(len(anchors))]
    spread = 0.01 if rng.uniform() < 0.25 else 0.06
    where = anchor + rng.normal(0.0, spread, 3)
    if spread > 0.01 and rng.uniform() < 0.5:
        where[2] = rng.uniform(0.02, 0.25)
    place_end_effector(arm, physics, np.clip(where, arm.workspace_low, arm.workspace_high))
    arm.set_fingers(physics, rng.uniform(0.0, 1.0))
    physics.forward()
    hand = arm.ee_position(physics).copy()
    for obj in objects:
        start = obj.position(physics).copy()
        draw = rng.uniform()
        if draw < 0.3:  # held: the grip site is a centimetre above the centre
            obj.place(physics, hand[:2], hand[2] - 0.01)
        elif draw < 0.5 and goal is not None:
            spot = np.asarray(goal, float) + (*rng.normal(0.0, 0.015, 2), 0.0)
            obj.place(physics, spot[:2], spot[2] - 0.008 + rng.uniform(0.0, 0.1) * (draw > 0.4))
        elif draw < 0.7:
            obj.place(physics, start[:2] + rng.normal(0.0, 0.05, 2))
    physics.forward()
