"""A thin physics wrapper: stepping, exact state snapshots and divergence detection."""

from __future__ import annotations

import mujoco
import numpy as np

# Everything needed to continue a simulation bit-for-bit (positions, velocities, activations,
# warm-start accelerations, controls, mocap, time).
_STATE_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION


_FIRST, _LAST = int(mujoco.mjtWarning.mjWARN_BADQPOS), int(mujoco.mjtWarning.mjWARN_BADQACC)
assert _LAST - _FIRST == 2  # BADQPOS, BADQVEL, BADQACC are adjacent
_INSTABILITY = slice(_FIRST, _LAST + 1)


class PhysicsDivergence(RuntimeError):
    """The simulation produced non-finite or unstable values; the episode must end."""


class Physics:
    """Owns an ``MjModel``/``MjData`` pair.

    Example:
        >>> physics = Physics(mujoco.MjModel.from_xml_string("<mujoco/>"))
        >>> state = physics.snapshot(); physics.step(10); physics.restore(state)
    """

    def __init__(self, model: mujoco.MjModel):
        self.model = model
        self.data = mujoco.MjData(model)
        self._state_size = mujoco.mj_stateSize(model, _STATE_SPEC)
        mujoco.mj_forward(model, self.data)

    @property
    def time(self) -> float:
        return float(self.data.time)

    def step(self, nstep: int = 1) -> None:
        """Advance ``nstep`` physics steps; raise :class:`PhysicsDivergence` if it blew up.

        On bad positions, velocities or accelerations MuJoCo warns, resets the data and carries
        on, so the state alone can look fine afterwards: the warning counters tell.
        """
        model, data = self.model, self.data
        warnings = data.warning
        before = int(warnings.number[_INSTABILITY].sum())  # one C array read: ~1 us
        # Split-step (as dm_control does): the position/velocity stage of the current step
        # already ran (mj_step1), so finish it with the new controls (mj_step2), take the other
        # steps whole, and end with mj_step1 so that positions, site poses and contacts read
        # after stepping belong to the current state. A restored snapshot then continues
        # exactly as the original run did, at no extra cost. RK4 has no split (mj_step2
        # integrates with Euler), so its steps are taken whole, as dm_control takes them.
        if model.opt.integrator == mujoco.mjtIntegrator.mjINT_RK4:
            mujoco.mj_step(model, data, nstep)
        else:
            mujoco.mj_step2(model, data)
            if nstep > 1:
                mujoco.mj_step(model, data, nstep - 1)
        mujoco.mj_step1(model, data)
        # MuJoCo's own checks (mj_checkPos/Vel/Acc) catch NaN, Inf and huge values.
        if int(warnings.number[_INSTABILITY].sum()) != before:
            raise PhysicsDivergence(
                f"simulation diverged at t={self.data.time:.3f}s (non-finite or unstable "
                "accelerations); the episode ends here"
            )

    def forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)

    def recompute_constants(self) -> None:
        """Refresh quantities MuJoCo derives from masses and sizes, after changing them.

        ``mj_setConst`` uses the data as scratch space, so the state is kept around it.
        """
        state = self.snapshot()
        mujoco.mj_setConst(self.model, self.data)
        self.restore(state)

    def snapshot(self) -> np.ndarray:
        state = np.empty(self._state_size, dtype=np.float64)
        mujoco.mj_getState(self.model, self.data, state, _STATE_SPEC)
        return state

    def restore(self, state: np.ndarray) -> None:
        state = np.asarray(state, dtype=np.float64)
        if state.shape != (self._state_size,):
            raise ValueError(
                f"state has shape {state.shape}, this model needs ({self._state_size},); "
                "was it saved from another scene or robot?"
            )
        mujoco.mj_setState(self.model, self.data, state, _STATE_SPEC)
        mujoco.mj_forward(self.model, self.data)

    def reset(self, keyframe: int | None = None) -> None:
        if keyframe is None:
            mujoco.mj_resetData(self.model, self.data)
        else:
            mujoco.mj_resetDataKeyframe(self.model, self.data, keyframe)
        mujoco.mj_forward(self.model, self.data)
