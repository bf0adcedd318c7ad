"""Controllers: normalised actions in [-1, 1] -> actuator controls.

* :class:`ActuatorRangeController` maps each action dimension onto an actuator's ``ctrlrange``;
  it serves joint-position servos and torque motors alike.
* :class:`EndEffectorDeltaController` integrates Cartesian deltas of an end-effector site into a
  target and solves one damped-least-squares differential-IK step per control tick, holding the
  orientation it had at reset.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import mujoco
import numpy as np

from workbench.sim.physics import Physics


class Controller(ABC):
    labels: tuple[str, ...]

    @property
    def action_dim(self) -> int:
        return len(self.labels)

    def reset(self, physics: Physics) -> None:  # noqa: B027 - optional hook
        """Called after the episode's initial state is set."""

    def get_state(self) -> np.ndarray:
        """Internal state beyond the simulator's (saved with snapshots for exact replay)."""
        return np.zeros(0)

    def set_state(self, state: np.ndarray) -> None:  # noqa: B027 - stateless by default
        pass

    @abstractmethod
    def apply(self, physics: Physics, action: np.ndarray) -> None:
        """Write ``physics.data.ctrl`` for a clipped action in [-1, 1]."""


def _as_slice(indices: np.ndarray) -> slice | np.ndarray:
    """Contiguous indices as a slice: slicing makes views, fancy indexing makes copies."""
    if len(indices) and np.array_equal(indices, np.arange(indices[0], indices[0] + len(indices))):
        return slice(int(indices[0]), int(indices[0]) + len(indices))
    return indices


def _actuator_ids(model: mujoco.MjModel, names: tuple[str, ...]) -> np.ndarray:
    ids = []
    for name in names:
        idx = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, name)
        if idx < 0:
            raise KeyError(f"no actuator {name!r} in the model")
        ids.append(idx)
    return np.array(ids, dtype=np.int64)


class ActuatorRangeController(Controller):
    def __init__(self, model: mujoco.MjModel, actuators: tuple[str, ...]):
        self.labels = actuators
        ids = _actuator_ids(model, actuators)
        self._ids = _as_slice(ids)
        ranges = model.actuator_ctrlrange[ids].copy()
        for k, i in enumerate(ids):
            if model.actuator_ctrllimited[i]:
                continue
            # A position servo without a control range: its joint's range is the target range.
            joint = model.actuator_trnid[i, 0]
            on_joint = model.actuator_trntype[i] == mujoco.mjtTrn.mjTRN_JOINT
            if not (on_joint and model.jnt_limited[joint]):
                raise ValueError(f"actuator {model.actuator(i).name!r} has no control range and "
                                 "drives no limited joint: [-1, 1] cannot be mapped onto it")
            ranges[k] = model.jnt_range[joint]
        self._mid = ranges.mean(axis=1)
        self._half = 0.5 * (ranges[:, 1] - ranges[:, 0])

    def apply(self, physics: Physics, action: np.ndarray) -> None:
        physics.data.ctrl[self._ids] = self._mid + self._half * action

    # ctrl = offset + scale * action (what a runner on hardware inverts, see contract())
    @property
    def offset(self) -> np.ndarray:
        return self._mid.copy()

    @property
    def scale(self) -> np.ndarray:
        return self._half.copy()

    def action_for(self, ctrl: np.ndarray) -> np.ndarray:
        """The action that commands ``ctrl`` (joint targets, for position actuators): what
        :meth:`apply` inverts, unclipped."""
        return (np.asarray(ctrl, np.float64) - self._mid) / self._half


@dataclass(frozen=True)
class EndEffectorConfig:
    site: str
    joints: tuple[str, ...]  # the arm joints IK may move, in actuator order
    actuators: tuple[str, ...]  # position servos of those joints
    max_step: float = 0.01  # metres per control tick at |action| = 1
    workspace_low: tuple[float, float, float] = (-1.0, -1.0, 0.0)
    workspace_high: tuple[float, float, float] = (1.0, 1.0, 1.0)
    damping: float = 0.05
    orientation_weight: float = 0.5
    gripper_actuator: str | None = None
    planar: bool = False  # only x, y; the height is held where the episode started
    planar_gripper: float = -1.0  # the gripper command held in planar mode (-1: closed)
    # Soft servos (hobby servos under gravity) settle short of their targets, and a step taken
    # from the measured joints never closes that gap: add an integral of the IK steps (gain
    # ``integral_gain`` per tick, at most ``command_slack`` rad, so a blocked arm does not wind
    # up). A full-gain integral rings against the servos' lag.
    integral_gain: float = 0.0
    command_slack: float = 0.15


class EndEffectorDeltaController(Controller):
    def __init__(self, model: mujoco.MjModel, config: EndEffectorConfig):
        self.config = config
        self.model = model
        axes = ("dx", "dy") if config.planar else ("dx", "dy", "dz")
        self.labels = axes + (("gripper",) if config.gripper_actuator and not config.planar else ())
        self._site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, config.site)
        if self._site < 0:
            raise KeyError(f"no site {config.site!r} in the model")
        joint_ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in config.joints]
        if min(joint_ids) < 0:
            raise KeyError(f"missing IK joints among {config.joints}")
        self._dofs = _as_slice(model.jnt_dofadr[joint_ids])
        self._qpos = _as_slice(model.jnt_qposadr[joint_ids])
        self._limits = model.jnt_range[joint_ids]
        self._servos = _as_slice(_actuator_ids(model, config.actuators))
        self._gripper = (
            _actuator_ids(model, (config.gripper_actuator,))[0]
            if config.gripper_actuator
            else None
        )
        self._low = np.array(config.workspace_low)
        self._high = np.array(config.workspace_high)
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))
        self._jac = np.zeros((6, len(joint_ids)))
        self._err = np.zeros(6)
        self._damping = config.damping**2 * np.eye(6)
        self._quat = np.zeros((3, 4))
        self._rot_err = np.zeros(3)
        self._solution = np.zeros(6)
        self._target_quat = np.array([1.0, 0.0, 0.0, 0.0])
        self.target_pos = np.zeros(3)
        self._integral = np.zeros(len(joint_ids))

    def reset(self, physics: Physics) -> None:
        site = physics.data.site(self._site)
        self.target_pos = site.xpos.copy()
        mujoco.mju_mat2Quat(self._target_quat, site.xmat)
        physics.data.ctrl[self._servos] = physics.data.qpos[self._qpos]
        self._integral[:] = 0.0

    def get_state(self) -> np.ndarray:
        parts = [self.target_pos, self._target_quat]
        return np.concatenate(parts + [self._integral] if self.config.integral_gain else parts)

    def set_state(self, state: np.ndarray) -> None:
        self.target_pos = np.array(state[:3], dtype=float)
        self._target_quat[:] = state[3:7]
        if self.config.integral_gain:
            self._integral[:] = state[7:]

    def ik_step(self, physics: Physics, target_pos: np.ndarray) -> np.ndarray:
        """One damped-least-squares step towards ``target_pos`` and the held orientation.

        Runs once per control tick, so the small 6x6 algebra uses MuJoCo's own C helpers
        (quaternion error, Cholesky) instead of numpy calls with their per-call overhead.
        """
        data = physics.data
        mujoco.mj_jacSite(self.model, data, self._jacp, self._jacr, self._site)
        w = self.config.orientation_weight
        jac, err, quat = self._jac, self._err, self._quat
        jac[:3] = self._jacp[:, self._dofs]
        np.multiply(self._jacr[:, self._dofs], w, out=jac[3:])
        np.subtract(target_pos, data.site_xpos[self._site], out=err[:3])
        # Orientation error: the rotation taking the current site frame to the held one.
        mujoco.mju_mat2Quat(quat[0], data.site_xmat[self._site])
        mujoco.mju_negQuat(quat[1], quat[0])
        mujoco.mju_mulQuat(quat[2], self._target_quat, quat[1])
        mujoco.mju_quat2Vel(self._rot_err, quat[2], 1.0)
        err[3:] = w * self._rot_err
        system = jac @ jac.T + self._damping
        mujoco.mju_cholFactor(system, 0.0)
        mujoco.mju_cholSolve(self._solution, system, err)
        q = data.qpos[self._qpos] + jac.T @ self._solution
        return np.minimum(np.maximum(q, self._limits[:, 0]), self._limits[:, 1])

    def apply(self, physics: Physics, action: np.ndarray) -> None:
        step = self.config.max_step
        lead = 1.5 * step  # keep the target near the hand, so pushing on an obstacle
        site = physics.data.site_xpos[self._site]  # does not wind it up
        axes = 2 if self.config.planar else 3
        target = self.target_pos.tolist()  # three floats: plain arithmetic beats numpy here
        for i in range(axes):
            wanted = target[i] + float(action[i]) * step
            wanted = min(max(wanted, site[i] - lead), site[i] + lead)
            target[i] = min(max(wanted, self._low[i]), self._high[i])
        self.target_pos = np.array(target)
        q = self.ik_step(physics, self.target_pos)
        if self.config.integral_gain:
            slack = self.config.command_slack
            self._integral += self.config.integral_gain * (q - physics.data.qpos[self._qpos])
            np.clip(self._integral, -slack, slack, out=self._integral)
            q = np.clip(q + self._integral, self._limits[:, 0], self._limits[:, 1])
        physics.data.ctrl[self._servos] = q
        if self._gripper is not None:
            low, high = self.model.actuator_ctrlrange[self._gripper]
            opening = float(action[axes]) if len(action) > axes else self.config.planar_gripper
            physics.data.ctrl[self._gripper] = low + (high - low) * 0.5 * (opening + 1.0)


def solve_ik(
    physics: Physics, controller: EndEffectorDeltaController, target: np.ndarray, iters: int = 60
) -> None:
    """Move the arm's joints kinematically (no dynamics) so the site reaches ``target``."""
    for _ in range(iters):
        q = controller.ik_step(physics, target)
        physics.data.qpos[controller._qpos] = q
        mujoco.mj_kinematics(physics.model, physics.data)
        mujoco.mj_comPos(physics.model, physics.data)
