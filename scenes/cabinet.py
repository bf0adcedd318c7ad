"""Shared parts of the articulated-object scenes (DrawerOpen, DoorOpen): a cabinet on the table
with one jointed part, opened by holding its handle.

Each subclass names its joint, how far counts as open, and how the hand should move the handle;
this base places the cabinet (made smaller for a small arm), varies its look and dynamics, and
computes the ground truth.
"""

from __future__ import annotations

from typing import ClassVar

import mujoco
import numpy as np

from robots.tabletop import TabletopArm
from scenes.tabletop import (
    CLOSED,
    COLOURS,
    OPEN,
    Phase,
    PhaseScript,
    fingers_touch,
    place_hand_at_start,
    scatter_arm_scene,
)
from workbench.sim.physics import Physics
from workbench.task import ScriptedPolicy, Task, tolerance

FRONT_COLOURS = ("blue", "red", "yellow", "purple", "orange", "green")
# A small arm's cabinet stands this much further out than its table's layout says: the handle
# comes 5 cm towards the arm as the part opens, and the SO-101's reach at the handle's height
# ends 14 cm from its pan axis (at the layout's place: DoorOpen 17 of 20 scripted episodes,
# the hand losing the handle there; 2 cm out: 30 of 30; 3.5 cm: 28, the drawer's start at the
# far end of its reach).
SMALL_ARM_SETBACK = 0.02


def cabinet_scale(robot: TabletopArm) -> float:
    """How the cabinet is sized for ``robot``: as its table is, so that a small arm's handle
    stands within its top-down reach (the SO-101's ends 8 cm over the table, the nominal
    cabinet's drawer handle 7 cm up)."""
    return robot.table_scale


def shrink_cabinet(spec: mujoco.MjSpec, scale: float, place: np.ndarray) -> None:
    """Make the arena's cabinet ``scale`` times its size, standing at ``place`` (world xy).

    Geoms take their mass from their volume, so the moving part's mass follows; a slide's
    travel shrinks with it, a hinge's angle does not, and a hinge's damping shrinks with the
    square of the size so that the handle, nearer the hinge, meets the same force at the same
    speed."""
    cabinet = spec.body("cabinet")
    cabinet.pos = [*place, cabinet.pos[2]]
    for body in (cabinet, *cabinet.find_all(mujoco.mjtObj.mjOBJ_BODY)):
        if body is not cabinet:
            body.pos = body.pos * scale
        for geom in body.geoms:
            geom.size, geom.pos = geom.size * scale, geom.pos * scale
        for site in body.sites:
            site.pos = site.pos * scale
        for joint in body.joints:
            if joint.type == mujoco.mjtJoint.mjJNT_SLIDE:
                joint.range = joint.range * scale
            else:
                joint.damping = joint.damping * scale**2


class CabinetTask(Task):
    tags = ("manipulation", "arm", "articulated")
    robot = "arm6"
    # The SO-101 gets a cabinet made as much smaller as its table (``arena_spec``).
    stand_ins = ("arm7", "so101", "panda")
    default_control_mode = "ee_delta"
    control_dt = 0.04
    episode_steps = 120
    cameras = ("side", "top", "robot/wrist_cam")  # "front" looks at the cabinet's back
    # From beside the arm, on the side the door's free edge swings to: the cabinet's front faces
    # the arm, and the view from beyond the table first written here showed its back, the door
    # and the drawer hidden behind it.
    viewer = {"lookat": (0.5, 0.0, 0.08), "distance": 1.2, "azimuth": 60, "elevation": -28}
    reference_weights = {"reach": 0.15, "grasp": 0.15, "open": 0.7}
    joint: ClassVar[str]  # the part's joint in the arena
    front_geom: ClassVar[str]  # the geom whose colour varies (and that goals name)
    open_at: float  # joint position that counts as open (m or rad), for the arena's cabinet
    scale = 1.0  # the cabinet's size against the arena's (a small arm's is smaller)
    # How far a one-jawed gripper's fixed jaw stays off the handle while it comes down: a
    # drawer's handle cannot move across the jaws, so the closing jaw brings it home, where a
    # door's would swing away from it.
    descent_clearance: ClassVar[float] = 0.0
    feature_notes = {
        "handle_pos": "the handle's grip point in the world frame (m)",
        "hand_to_handle": "from the grip point to the handle (m, world frame)",
        "opening": "how far the part is open, as a share of what counts as open: 0 closed, "
                   "1 or more open (success)",
    }
    template_terms = {"reach": '-np.linalg.norm(f["hand_to_handle"], axis=1)',
                      "opened": 'np.clip(f["opening"][:, 0], 0.0, 1.0)'}

    def arena_spec(self, robot: TabletopArm) -> mujoco.MjSpec:  # type: ignore[override]
        spec = super().arena_spec(robot)
        scale = cabinet_scale(robot)
        if scale != 1.0:  # bit for bit: the nominal arm's episodes stay as recorded
            place = robot.on_table(spec.body("cabinet").pos[:2]) + (SMALL_ARM_SETBACK, 0.0)
            shrink_cabinet(spec, scale, place)
        return spec

    def bind(self, physics: Physics, robot: TabletopArm) -> None:  # type: ignore[override]
        model = physics.model
        self.arm = robot
        self.scale = cabinet_scale(robot)
        if model.jnt_type[model.joint(self.joint).id] == mujoco.mjtJoint.mjJNT_SLIDE:
            self.open_at = type(self).open_at * self.scale
        robot.prepare_for_grasping(physics)  # damped servos, a firm grip
        self._cabinet = model.body("cabinet").id
        self._cabinet_home = model.body_pos[self._cabinet].copy()
        self._joint_qpos = model.joint(self.joint).qposadr[0]
        self._joint_dof = model.joint(self.joint).dofadr[0]
        self._damping = float(model.dof_damping[self._joint_dof])
        self._front = model.geom(self.front_geom).id
        self._handle_geom = model.geom("handle").id
        self._handle = model.site("handle").id
        self.colour = "blue"

    def initialize_episode(self, physics: Physics, rng: np.random.Generator) -> None:
        model, data, d = physics.model, physics.data, self.difficulty
        self.colour = self.draw_colour(self.goal_roles[0], rng)
        model.geom_rgba[self._front, :3] = COLOURS[self.colour]
        shift = rng.uniform(-1, 1, size=2) * (np.array([0.02, 0.04]) + d * np.array([0.03, 0.1]))
        shift *= self.scale
        model.body_pos[self._cabinet] = self._cabinet_home + (*shift, 0.0)
        model.dof_damping[self._joint_dof] = self._damping * (1 + d * rng.uniform(-0.5, 1.0))
        data.qpos[self._joint_qpos] = rng.uniform(0, 0.1 * self.open_at * (1 + d))
        self.arm.turn_jaws(physics, (0.0, 1.0))  # across a handle that stands out along x
        place_hand_at_start(self.arm, physics, rng)

    def scatter(self, physics: Physics, rng: np.random.Generator) -> None:
        """The part anywhere from shut to a fifth past open, then the hand near its start or
        the handle (within about a centimetre of it a quarter of the time), the fingers
        anywhere between closed and wide: frames in which the part's travel, not only the arm,
        tells states apart."""
        physics.data.qpos[self._joint_qpos] = rng.uniform(0.0, 1.2) * self.open_at
        physics.forward()
        scatter_arm_scene(self.arm, physics, rng, goal=self.grip_point(physics))

    # -- named accessors ---------------------------------------------------------------------
    def opening(self, physics: Physics) -> float:
        return float(physics.data.qpos[self._joint_qpos])

    def handle_position(self, physics: Physics) -> np.ndarray:
        return physics.data.site_xpos[self._handle]

    def held(self, physics: Physics) -> bool:
        return fingers_touch(physics, self.arm.finger_geoms, self._handle_geom)

    # -- observations and ground truth -------------------------------------------------------
    def features(self) -> dict[str, int]:
        return {"handle_pos": 3, "hand_to_handle": 3, "opening": 1}

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        handle = self.handle_position(physics)
        return {
            "handle_pos": handle,
            "hand_to_handle": handle - self.arm.ee_position(physics),
            "opening": np.array([self.opening(physics) / self.open_at]),
        }

    def evaluate(self, physics: Physics) -> dict:
        hand = self.arm.ee_position(physics)
        reach_gap = float(np.linalg.norm(hand - self.grip_point(physics)))
        held = self.held(physics)
        opened = min(max(self.opening(physics) / self.open_at, 0.0), 1.0)
        success = opened >= 1.0
        reach = min(max(1.0 - reach_gap / 0.25, 0.0), 1.0)
        progress = 1.0 if success else 0.2 * reach + 0.1 * held + 0.7 * opened
        return {
            "success": bool(success),
            "progress": progress,
            "stages": {
                "reached": reach_gap < 0.02,
                "grasped": held,
                "opening": opened > 0.2,
                "open": success,
            },
            "terms": {"reach": tolerance(reach_gap, 0.2), "grasp": float(held), "open": opened},
        }

    def object_colours(self, physics: Physics) -> dict[str, str]:
        return {self.goal_roles[0]: self.colour}

    # -- demonstrations ----------------------------------------------------------------------
    def grip_point(self, physics: Physics, clearance: float = 0.0) -> np.ndarray:
        """Grip site target for holding the handle from above (``clearance`` short of it)."""
        return (self.handle_position(physics) + (0.0, 0.0, 0.014 * self.scale)
                + self.arm.hold_offset(physics, self._handle_geom, clearance))

    def pull_target(self, physics: Physics) -> np.ndarray:
        """Where the hand should head next while opening (a little ahead along the motion)."""
        raise NotImplementedError

    def phases(self, pull_until: float) -> list[Phase]:
        def above(physics: Physics) -> np.ndarray:
            return self.grip_point(physics) + (0.0, 0.0, 0.07 * self.scale)

        def hold_here(physics: Physics) -> np.ndarray:
            return self.arm.ee_position(physics).copy()

        let_go = self.arm.gripper_action(self.arm.handle_release)

        def retreat(physics: Physics) -> np.ndarray:
            return self.arm.ee_position(physics) + (0.0, 0.0, 0.05 * self.scale)

        return [
            Phase("approach", above, OPEN, tolerance=0.012),
            Phase("descend", lambda p: self.grip_point(p, self.descent_clearance), OPEN,
                  tolerance=0.006, speed=0.6),
            Phase("close", self.grip_point, CLOSED, tolerance=1.0, hold=self.arm.close_ticks),
            Phase("pull", self.pull_target, CLOSED, speed=0.7,
                  done=lambda p: self.opening(p) >= pull_until),
            # The speed only caps a hand that moves with the part (``release_moving``).
            Phase("release", self.pull_target if self.arm.release_moving else hold_here,
                  let_go, tolerance=1.0, hold=5, speed=0.7),
            Phase("retreat", retreat, let_go, tolerance=0.01),
        ]

    def scripted_policy(self, rng: np.random.Generator) -> ScriptedPolicy:
        # Past open by 12% of the arena's travel: a small arm's drawer, 4.8 cm, came back a
        # millimetre under open as the jaws let go when pulled 12% past its own.
        return PhaseScript(self.arm, self.phases(self.open_at + 0.12 * type(self).open_at), rng)

    def perturbed_policy(self, rng: np.random.Generator) -> ScriptedPolicy:
        """A competent grasp and pull that gives up part of the way."""
        return PhaseScript(self.arm, self.phases(rng.uniform(0.3, 0.7) * self.open_at), rng)
