"""Legged robots whose MJCF ships inside dm_control (Apache-2.0), reused rather than rewritten.

``suite_robot_spec`` loads a dm_control suite model, keeps only the robot's body tree (the floor,
terrain, lights, global cameras and props belong to dm_control's own arenas), and freezes the
masses and inertias the file compiles to, so that compiler options which do not survive
``MjSpec.attach`` (cheetah's ``settotalmass``) still shape the robot. ``SuiteLeggedRobot`` gives
every such robot the same proprioception and the same accessors the locomotion scenes use.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import ClassVar

import mujoco
import numpy as np

from workbench.robot import HardwareMapping, Robot
from workbench.sim.control import ActuatorRangeController, Controller
from workbench.sim.mirror import Mirror
from workbench.sim.physics import Physics


def suite_file(name: str) -> Path:
    import dm_control.suite

    return Path(dm_control.suite.__file__).with_name(name)


def suite_robot_spec(xml: str, root: str = "torso") -> mujoco.MjSpec:
    """The robot of a dm_control suite file, as a spec ready to attach."""
    spec = mujoco.MjSpec.from_file(str(suite_file(xml)))  # resolves its ./common includes
    world = spec.worldbody
    for element in [*world.geoms, *world.lights, *world.cameras, *world.sites]:
        spec.delete(element)
    for body in list(world.bodies):
        if body.name != root:
            spec.delete(body)
    for hfield in list(spec.hfields):
        spec.delete(hfield)
    with warnings.catch_warnings():  # cheetah's settotalmass: applied here, then frozen
        warnings.filterwarnings("ignore", message=".*settotalmass.*")
        model = spec.compile()
    for body in spec.bodies[1:]:
        i = model.body(body.name).id
        body.mass = float(model.body_mass[i])
        body.inertia = model.body_inertia[i]
        body.ipos = model.body_ipos[i]
        body.iquat = model.body_iquat[i]
        body.explicitinertial = True
    return spec


class SuiteLeggedRobot(Robot):
    """A torque-controlled legged robot from dm_control's suite.

    Observations: hinge joint angles and velocities, torso height, torso orientation (its x and
    z axes in the world frame) and torso velocity in its own frame (angular, then linear).
    """

    xml: ClassVar[str]
    root: ClassVar[str] = "torso"
    feature_notes = {
        "joint_pos": "hinge angles (rad), in the robot's joint order",
        "joint_vel": "hinge angular velocities (rad/s), in the same order",
        "height": "the torso's height above the floor (m)",
        "orientation": "the torso's forward (x) and up (z) axes in the world: x_x, x_y, x_z, "
                       "z_x, z_y, z_z; upright and facing ahead is 1, 0, 0, 0, 0, 1",
        "velocity": "the torso's velocity in its own frame: angular about x, y, z (rad/s), "
                    "then linear along x (forward), y (left), z (up) (m/s)",
    }
    # The torso's velocity turned into the world frame (it is read in the torso's own, which
    # tumbles with a falling hopper or humanoid): its x entry is the speed the scenes measure.
    readouts = {
        "x_axis": 'f["orientation"][:, :3]',
        "z_axis": 'f["orientation"][:, 3:]',
        "y_axis": "np.cross(z_axis, x_axis)",
        "world_velocity": 'f["velocity"][:, 3:4] * x_axis + f["velocity"][:, 4:5] * y_axis '
                          '+ f["velocity"][:, 5:6] * z_axis',
        "forward_speed": "world_velocity[:, 0]",
        "upright": "z_axis[:, 2]",  # cosine of the torso's tilt from vertical
    }
    control_modes = ("joint_torque",)
    default_control_mode = "joint_torque"
    mjcf = Path()  # unused: spec() loads from dm_control

    def spec(self) -> mujoco.MjSpec:
        return suite_robot_spec(self.xml, self.root)

    def bind(self, physics: Physics) -> None:
        model = physics.model
        prefix = self.prefix
        hinges = [j for j in range(model.njnt)
                  if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE
                  and model.joint(j).name.startswith(prefix)
                  and not model.joint(j).name.startswith(prefix + "root")]
        self.joint_names = tuple(model.joint(j).name[len(prefix):] for j in hinges)
        self._qpos = model.jnt_qposadr[hinges]
        self._dofs = model.jnt_dofadr[hinges]
        self._ranges = model.jnt_range[hinges]
        self._limited = model.jnt_limited[hinges].astype(bool)
        self._torso = model.body(self.name(self.root)).id
        self.actuators = tuple(model.actuator(a).name for a in range(model.nu)
                               if model.actuator(a).name.startswith(prefix))
        free = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE
                and model.jnt_bodyid[j] == self._torso]
        if free:  # 3-D robot: x velocity is the free joint's first dof (world frame)
            self._root_qpos = model.jnt_qposadr[free[0]]
            self._vx_dof = model.jnt_dofadr[free[0]]
        else:  # planar robot: rootx slide joint
            rootx = model.joint(self.name("rootx"))
            self._root_qpos = None
            self._vx_dof = rootx.dofadr[0]
        self._home = physics.data.qpos.copy()
        self._model = model  # the joints' mirror is read off it when first asked
        self._velocity = np.zeros(6)

    def reset(self, physics: Physics, rng: np.random.Generator) -> None:
        data = physics.data
        data.qvel[:] = 0.0
        low, high = self._ranges[:, 0], self._ranges[:, 1]
        # Random joint angles inside their limits: the start is never one fixed pose.
        angles = np.clip(rng.normal(0.0, 0.1, size=len(self._qpos)), low, high)
        data.qpos[self._qpos] = np.where(self._limited, angles, 0.0)
        data.ctrl[:] = 0.0
        physics.forward()
        if self._root_qpos is not None:
            self.lift_clear(physics)

    def lift_clear(self, physics: Physics) -> None:
        """Raise a 3-D robot's root until nothing touches (no foot starts inside the floor)."""
        data = physics.data
        for _ in range(300):
            if data.ncon == 0:
                break
            data.qpos[self._root_qpos + 2] += 0.01
            physics.forward()

    def set_orientation(self, physics: Physics, quat: np.ndarray) -> None:
        """Turn a 3-D robot's root to ``quat`` (w, x, y, z), then lift it clear of the floor."""
        physics.data.qpos[self._root_qpos + 3 : self._root_qpos + 7] = quat / np.linalg.norm(quat)
        physics.forward()
        self.lift_clear(physics)

    def make_controller(self, mode: str, physics: Physics) -> Controller:
        self.check_mode(mode)
        return ActuatorRangeController(physics.model, self.actuators)

    # -- accessors the locomotion scenes use -----------------------------------------------------
    def torso_height(self, physics: Physics) -> float:
        return float(physics.data.xpos[self._torso, 2])

    def torso_upright(self, physics: Physics) -> float:
        """Cosine of the torso's tilt from vertical (its z axis against the world's)."""
        return float(physics.data.xmat[self._torso, 8])

    def forward_velocity(self, physics: Physics) -> float:
        return float(physics.data.qvel[self._vx_dof])

    def torso_x(self, physics: Physics) -> float:
        return float(physics.data.xpos[self._torso, 0])

    # -- proprioception ----------------------------------------------------------------------------
    def features(self) -> dict[str, int]:
        n = len(self.joint_names)  # known once bound
        return {"joint_pos": n, "joint_vel": n, "height": 1, "orientation": 6, "velocity": 6}

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        data = physics.data
        # XBODY: the torso's own frame, the one its axes above are read in. (BODY would be
        # its inertial frame, whose axes the cheetah's and hopper's compiled inertia permute:
        # their forward speed came out on the third axis and the mirror's signs were wrong.)
        mujoco.mj_objectVelocity(physics.model, data, mujoco.mjtObj.mjOBJ_XBODY, self._torso,
                                 self._velocity, 1)
        xmat = data.xmat[self._torso]
        return {
            "joint_pos": data.qpos[self._qpos],
            "joint_vel": data.qvel[self._dofs],
            "height": data.xpos[self._torso, 2:3],
            "orientation": xmat[[0, 3, 6, 2, 5, 8]],
            "velocity": self._velocity,
        }

    def mirror_joints(self) -> tuple[str, ...]:
        return self.joint_names

    def mirror(self) -> dict[str, Mirror] | None:
        """Left and right legs swap (read off the model); the torso's axes and velocities in
        its own frame turn as a reflection turns them (an angular velocity is axial)."""
        joints = self.joints_mirror(self._model)
        if joints is None:
            return None
        return {"joint_pos": joints, "joint_vel": joints, "height": Mirror((1.0,)),
                "orientation": Mirror((1.0, -1.0, 1.0) * 2),  # its x and z axes: points
                "velocity": Mirror((-1.0, 1.0, -1.0, 1.0, -1.0, 1.0))}

    def hardware_mapping(self, control_mode: str, control_dt: float) -> HardwareMapping:
        return HardwareMapping(
            joint_order=tuple(a[len(self.prefix):] for a in self.actuators),
            joint_units="N*m (normalised by gear)",
            control_rate_hz=1.0 / control_dt,
            command="joint_torque",
        )
