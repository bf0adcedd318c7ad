"""What every tabletop arm shares: a grip site, a gripper, the three control modes, and how
the manipulation scenes lay their objects out for the arm's size.

A robot in ``robots/`` subclasses :class:`TabletopArm` and names its parts (arm joints in
actuator order, the gripper's joints and actuator, the two finger geoms a grasp is judged by);
the scenes never name a robot, they ask the arm. Scenes are laid out for a nominal arm about
60 cm long around :data:`TABLE_CENTRE`; a smaller arm is mounted so that its top-down workspace
centres there and says by how much the layout shrinks (``table_scale``).

Control modes:
    ``ee_delta``: Cartesian deltas (dx, dy, dz) of the grip site plus gripper opening, solved by
        damped-least-squares differential IK that holds the gripper pointing down.
    ``ee_delta_planar``: (dx, dy) at a fixed height with the gripper closed, for pushing.
    ``joint_position``: absolute joint targets for the arm joints and the gripper, each mapped
        from [-1, 1] onto the actuator's range.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mujoco
import numpy as np

from workbench.robot import HardwareMapping, Robot
from workbench.sim.control import (
    ActuatorRangeController,
    Controller,
    EndEffectorConfig,
    EndEffectorDeltaController,
    solve_ik,
)
from workbench.sim.mirror import POINT, Mirror
from workbench.sim.physics import Physics

TABLE_CENTRE = np.array([0.42, 0.0])  # where the scenes centre their layouts (world xy)


class TabletopArm(Robot):
    """Base class of the tabletop arms; subclasses set the class attributes below."""

    kind = "tabletop arm"
    joints: ClassVar[tuple[str, ...]]  # arm joints, in actuator order (servos share the names)
    home: ClassVar[np.ndarray]  # arm joint angles: gripper down over the table
    gripper_joints: ClassVar[tuple[str, ...]]  # set kinematically by set_fingers
    gripper_range: ClassVar[tuple[float, float]]  # gripper joint position closed, wide open
    gripper_units: ClassVar[str] = "m of finger travel"
    mirror_sites = ("grip_site",)  # a wrist's roll moves no body's origin, but the grip site
    finger_geom_names: ClassVar[tuple[str, str]]  # a grasp is both of these touching an object
    control_modes = ("ee_delta", "ee_delta_planar", "joint_position")
    default_control_mode = "ee_delta"
    workspace_low: ClassVar[tuple[float, float, float]]  # grip-site box, world frame
    workspace_high: ClassVar[tuple[float, float, float]]
    # Layout: scene positions shrink towards TABLE_CENTRE by this factor; distances between
    # objects do not (a cube still has to travel its 10 cm), they are clipped to the box.
    table_scale: ClassVar[float] = 1.0
    push_height: ClassVar[float] = 0.03  # grip-site height while pushing: tips just off the table
    push_opening: ClassVar[float] = 0.0  # gripper opening while pushing (0 closed, 1 wide)
    # Gripper opening that lets go of a cube without shoving it, where it must land precisely
    # (on a stack): opened wide at once, some fingers drag it a centimetre or two.
    gentle_release: ClassVar[float] = 1.0
    close_ticks: ClassVar[int] = 8  # control ticks the gripper takes to close on a handle
    handle_release: ClassVar[float] = 1.0  # how far to open to let go of a handle
    # Whether the hand keeps moving with a cabinet's part while it lets go of the handle. A
    # parallel gripper's fingers both open away from the handle, so the hand holds still
    # there (and the nominal arms' recorded episodes stay as they were); a fixed jaw stays
    # where it held, and a door still swinging open runs its handle into it.
    release_moving: ClassVar[bool] = False
    # The first view from this much further back and looking this much higher (m), for an arm
    # that stands taller than the nominal one: it is seen whole (``scene_view``).
    view_back: ClassVar[float] = 1.0
    view_up: ClassVar[float] = 0.0
    carry_height: ClassVar[float] = 0.13  # grip-site height while carrying over walls
    grip_above_centre: ClassVar[float] = 0.01  # grip site over a grasped cube's centre
    grip_floor: ClassVar[float] = 0.028  # lowest grasp height: finger tips off the table
    feature_notes = {
        "joint_pos": "the arm's joint angles (rad), base to wrist",
        "joint_vel": "the arm's joint velocities (rad/s), in the same order",
        "gripper": "how open the gripper is: 0 closed, 1 wide open",
        "ee_pos": "the grip point between the fingers, in the world frame (m): x away from the "
                  "arm, y to its left, z up from the table top",
        "ee_vel": "the grip point's velocity in the world frame (m/s)",
    }
    max_step: ClassVar[float] = 0.01  # metres per control tick at |action| = 1
    servo_integral: ClassVar[float] = 0.0  # see EndEffectorConfig.integral_gain
    # Servo constants for the hardware contract: joint speed limit in rad/s (None: unknown).
    joint_speed_limit: ClassVar[float | None] = None
    # Where the maker's zero of each arm joint lies in the model (hardware angle = simulated
    # angle + offset; empty: the same zero). Every hardware_* method and the contract's ranges
    # are in the maker's convention, so drivers and bundles never see the model's.
    zero_offsets: ClassVar[tuple[float, ...]] = ()

    # -- reach: which grip-site points the arm can reach with the gripper pointing down --------
    shoulder: ClassVar[tuple[float, float, float]]  # world position of the first pitch joint
    wrist_above_grip: ClassVar[float]  # the wrist pitch joint sits this far above the grip site
    arm_length: ClassVar[float]  # shoulder-to-wrist distance at full stretch (with a margin)

    def reaches(self, point: np.ndarray) -> bool:
        """Whether the grip site can be at ``point`` with the gripper pointing down: inside the
        workspace box, and the wrist within the arm's length of the shoulder."""
        point = np.asarray(point, float)
        wrist = point + np.array([0.0, 0.0, self.wrist_above_grip])
        inside = np.all(point >= self.workspace_low) and np.all(point <= self.workspace_high)
        return bool(inside and np.linalg.norm(wrist - np.asarray(self.shoulder)) <= self.arm_length)

    def on_table(self, xy) -> np.ndarray:
        """A scene's nominal table position, moved into this arm's reach."""
        if self.table_scale == 1.0:  # bit for bit: the nominal arm's episodes stay as recorded
            return np.asarray(xy, float)
        return TABLE_CENTRE + self.table_scale * (np.asarray(xy, float) - TABLE_CENTRE)

    @staticmethod
    def gripper_action(opening: float) -> float:
        """A gripper opening (0 closed, 1 wide) as the gripper's action (-1 closed, 1 wide)."""
        return 2.0 * opening - 1.0

    def table_box(self, low, high, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """A box of the nominal table (xy corners) moved into this arm's reach, and kept
        ``margin`` inside its workspace: a small arm's scaled table reaches the edge of what it
        can get behind. The nominal boxes lie well inside the big arms' workspaces (the same
        corners back, so their episodes stay as recorded)."""
        inside_low = np.asarray(self.workspace_low[:2]) + margin
        inside_high = np.asarray(self.workspace_high[:2]) - margin
        return (np.maximum(self.on_table(low), inside_low),
                np.minimum(self.on_table(high), inside_high))

    def pushing_point(self, physics: Physics) -> np.ndarray:
        """The point of the hand that meets what it pushes: the grip site, where a parallel
        gripper's closed fingers meet."""
        return self.ee_position(physics)

    def hold_offset(self, physics: Physics, geom: int, clearance: float = 0.0) -> np.ndarray:
        """Grip site minus the centre of ``geom`` when the gripper holds it (``clearance``
        short of it): nothing where both fingers close on the middle (a parallel gripper)."""
        return np.zeros(3)

    def grasp_offset(self, physics: Physics, geom: int) -> np.ndarray:
        """Where to put the grip site, from the centre of ``geom``, to close on it from above:
        nothing where both fingers close towards the middle (a parallel gripper)."""
        return np.zeros(3)

    def turn_jaws(self, physics: Physics, along) -> None:
        """Turn the wrist so that the jaws' line lies along ``along`` (world xy), either way
        round. A parallel gripper's closed fingers push alike in any direction and the nominal
        arms' close along world y at home, across the cabinets' handles: nothing to turn."""

    def scene_view(self, viewer: dict[str, Any]) -> dict[str, Any]:
        """The scene's first view, moved in on this arm's table: the point looked at as the
        layout moves, the distance by the square root of the table's scale (the arm itself
        shrinks less than its table and must stay in the picture); then back and up for an arm
        taller than the nominal one."""
        if "lookat" not in viewer or (self.table_scale, self.view_back, self.view_up) == (1, 1, 0):
            return dict(viewer)
        x, y, z = viewer["lookat"]
        return {**viewer, "lookat": (*self.on_table((x, y)), z * self.table_scale + self.view_up),
                "distance": viewer["distance"] * self.table_scale**0.5 * self.view_back}

    def clip_to_workspace(self, point: np.ndarray) -> np.ndarray:
        n = len(point)
        return np.clip(point, self.workspace_low[:n], self.workspace_high[:n])

    # -- the Robot contract --------------------------------------------------------------------
    def bind(self, physics: Physics) -> None:
        model, data = physics.model, physics.data
        self._qpos = np.array([model.joint(self.name(j)).qposadr[0] for j in self.joints])
        self._dofs = np.array([model.joint(self.name(j)).dofadr[0] for j in self.joints])
        self._gripper_qpos = np.array(
            [model.joint(self.name(j)).qposadr[0] for j in self.gripper_joints])
        self._site = data.site(self.name("grip_site")).id
        self._servos = np.array([model.actuator(self.name(j)).id for j in self.joints])
        self._gripper = model.actuator(self.name("gripper")).id
        self.finger_geoms = tuple(model.geom(self.name(g)).id for g in self.finger_geom_names)
        self._jac = np.zeros((3, model.nv))
        self._placer = EndEffectorDeltaController(model, self.ee_config(planar=False))
        self._model = model  # the joints' mirror is read off it when first asked
        gripper_dof = model.jnt_dofadr[model.joint(self.name(self.gripper_joints[0])).id]
        self._hardware_dofs = np.array([*self._dofs, gripper_dof])
        # The hardware offset of each arm joint and the gripper (whose zero is the model's).
        self._offsets = np.zeros(len(self.joints) + 1)
        self._offsets[: len(self.zero_offsets)] = self.zero_offsets
        self._ranges = tuple((float(low + offset), float(high + offset))
                             for (low, high), offset in zip((
                                 *(model.jnt_range[model.joint(self.name(j)).id]
                                   for j in self.joints), self.gripper_range),
                                 self._offsets, strict=True))

    def reset(self, physics: Physics, rng: np.random.Generator) -> None:
        data = physics.data
        data.qpos[self._qpos] = self.home
        data.qvel[self._dofs] = 0.0
        self.set_fingers(physics, 0.0)
        data.ctrl[self._servos] = self.home
        data.ctrl[self._gripper] = physics.model.actuator_ctrlrange[self._gripper, 0]
        physics.forward()

    def prepare_for_grasping(self, physics: Physics) -> None:
        """Grasping scenes call this: stiffen what their servos need to hold a cube. The
        published models already carry their servo gains, so by default nothing changes."""

    def ee_config(self, planar: bool) -> EndEffectorConfig:
        return EndEffectorConfig(
            site=self.name("grip_site"),
            joints=tuple(self.name(j) for j in self.joints),
            actuators=tuple(self.name(j) for j in self.joints),
            max_step=self.max_step,
            workspace_low=self.workspace_low,
            workspace_high=self.workspace_high,
            gripper_actuator=self.name("gripper"),
            planar=planar,
            integral_gain=self.servo_integral,
            planar_gripper=self.gripper_action(self.push_opening),
        )

    def make_controller(self, mode: str, physics: Physics) -> Controller:
        self.check_mode(mode)
        if mode == "joint_position":
            names = tuple(self.name(j) for j in (*self.joints, "gripper"))
            return ActuatorRangeController(physics.model, names)
        return EndEffectorDeltaController(physics.model, self.ee_config(mode == "ee_delta_planar"))

    def ee_position(self, physics: Physics) -> np.ndarray:
        return physics.data.site_xpos[self._site]

    def opening(self, physics: Physics) -> float:
        """Gripper opening: 0 closed, 1 wide open (from the first gripper joint)."""
        closed, wide = self.gripper_range
        return float((physics.data.qpos[self._gripper_qpos[0]] - closed) / (wide - closed))

    def set_fingers(self, physics: Physics, opening: float) -> None:
        """Open the gripper to ``opening`` (0 closed, 1 wide), kinematically."""
        closed, wide = self.gripper_range
        physics.data.qpos[self._gripper_qpos] = closed + opening * (wide - closed)

    def features(self) -> dict[str, int]:
        n = len(self.joints)
        return {"joint_pos": n, "joint_vel": n, "gripper": 1, "ee_pos": 3, "ee_vel": 3}

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        data = physics.data
        jac = self._jac
        mujoco.mj_jacSite(physics.model, data, jac, None, self._site)
        return {
            "joint_pos": data.qpos[self._qpos],
            "joint_vel": data.qvel[self._dofs],
            "gripper": np.array([self.opening(physics)]),
            "ee_pos": data.site_xpos[self._site],
            "ee_vel": jac @ data.qvel,
        }

    def mirror_joints(self) -> tuple[str, ...]:
        return self.joints

    def mirror(self) -> dict[str, Mirror] | None:
        joints = self.joints_mirror(self._model)
        if joints is None:  # e.g. the SO-101: its servos sit 18 mm to one side
            return None
        return {"joint_pos": joints, "joint_vel": joints, "gripper": Mirror((1.0,)),
                "ee_pos": POINT, "ee_vel": POINT}

    def measured_command(self, control_mode: str) -> tuple[str, tuple[int, ...]] | None:
        if control_mode != "joint_position":
            return None
        return "joint_pos", tuple(range(len(self.joints)))  # the gripper starts at its middle

    def hardware_mapping(self, control_mode: str, control_dt: float) -> HardwareMapping:
        command = (
            "joint_position_target" if control_mode == "joint_position" else "ee_delta_target"
        )
        return HardwareMapping(
            joint_order=(*self.joints, "gripper"),
            joint_units=f"rad (gripper: {self.gripper_units})",
            control_rate_hz=1.0 / control_dt,
            command=command,
            joint_ranges=getattr(self, "_ranges", ()),
            joint_speed_limit=self.joint_speed_limit,
            zero_offsets=tuple(float(x) for x in getattr(self, "_offsets", ())),
            directions=(1,) * (len(self.joints) + 1),  # each model joint turns as the maker's
        )

    def hardware_positions(self, physics: Physics) -> np.ndarray:
        data = physics.data
        return np.array([*data.qpos[self._qpos], data.qpos[self._gripper_qpos[0]]]
                        ) + self._offsets

    def simulated_positions(self, positions: np.ndarray) -> np.ndarray:
        """Joint positions in the maker's convention (arm joints, then gripper) as the model's."""
        return np.asarray(positions, np.float64) - self._offsets

    def set_hardware_positions(self, physics: Physics, positions: np.ndarray,
                               speeds: np.ndarray) -> None:
        data = physics.data
        simulated = self.simulated_positions(positions)
        data.qpos[self._qpos] = simulated[:-1]
        data.qpos[self._gripper_qpos] = simulated[-1]  # the second finger follows the first
        data.qvel[self._hardware_dofs] = speeds

    def hardware_targets(self, physics: Physics) -> np.ndarray:
        return np.array([*physics.data.ctrl[self._servos], physics.data.ctrl[self._gripper]]
                        ) + self._offsets


def place_end_effector(robot: TabletopArm, physics: Physics, position: np.ndarray) -> None:
    """Kinematically move the arm so its grip site sits at ``position``, gripper down."""
    controller = robot._placer  # made once in bind
    controller.reset(physics)  # holds the current (home) orientation
    solve_ik(physics, controller, np.asarray(position, dtype=float))
    physics.data.ctrl[robot._servos] = physics.data.qpos[robot._qpos]
    physics.forward()
