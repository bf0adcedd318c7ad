"""Left-right mirror symmetry about the world's vertical plane y = 0, read off a compiled model.

The tabletop scenes are laid out symmetrically about the plane through the arm's base, and
their truth (distances, openings) does not change when a state is mirrored through it. A
reward told so (``PreferenceConfig.mirror``) pays a state and its mirror image the same. How
each observed number changes under the mirror: world positions and velocities negate their y
(:data:`LATERAL`); a hinge's angle keeps its sign where its axis is normal to the plane (a
pitch joint) and flips where its axis lies in the plane (yaw, roll), which
:func:`hinge_mirror_signs` reads from the model instead of asking each robot's author.
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np

LATERAL = (1.0, -1.0, 1.0)  # a world-frame position or velocity mirrored through y = 0
# How far from exact a symmetric chain may be: the Panda's shipped model has its wrist 0.1 mm
# and 0.05 degrees off the plane; the SO-101's servos sit 18 mm to one side (not symmetric).
_ANCHOR_TOLERANCE, _AXIS_TOLERANCE, _SITE_TOLERANCE = 1e-3, 2e-3, 2e-3
_CHECKS = 4  # random joint configurations the signs are verified at


def hinge_mirror_signs(model: mujoco.MjModel, joints: Sequence[str], site: str
                       ) -> tuple[float, ...] | None:
    """How each of ``joints`` (a serial chain of hinges) changes when the chain is mirrored
    through y = 0: +1 where the angle stays, -1 where it flips; None where the chain at zero
    angles is not symmetric about that plane (a joint off the plane, an oblique axis).

    Checked, not only derived: at a few random angles, the chain at the mirrored angles must put
    ``site`` (the grip site) at the mirror image of where it was."""
    ids = [model.joint(name).id for name in joints]
    if any(model.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE for j in ids):
        return None
    data = mujoco.MjData(model)
    addresses = model.jnt_qposadr[ids]
    data.qpos[addresses] = 0.0
    mujoco.mj_kinematics(model, data)
    signs = []
    for j in ids:
        axis = data.xaxis[j]
        if abs(data.xanchor[j][1]) > _ANCHOR_TOLERANCE:
            return None
        if abs(abs(axis[1]) - 1.0) < _AXIS_TOLERANCE:
            signs.append(1.0)  # normal to the plane: the mirror image turns the same way
        elif abs(axis[1]) < _AXIS_TOLERANCE:
            signs.append(-1.0)  # in the plane: the mirror image turns the other way
        else:
            return None
    site_id = model.site(site).id
    low, high = model.jnt_range[ids].T
    rng = np.random.default_rng(0)
    for _ in range(_CHECKS):
        angles = rng.uniform(np.maximum(low, -1.0), np.minimum(high, 1.0))
        where = []
        for candidate in (angles, angles * signs):
            data.qpos[addresses] = candidate
            mujoco.mj_kinematics(model, data)
            where.append(data.site_xpos[site_id].copy())
        if not np.allclose(where[1], where[0] * LATERAL, atol=_SITE_TOLERANCE):
            return None
    return tuple(signs)


def joined_signs(features: dict[str, int], signs: dict[str, Sequence[float]]
                 ) -> tuple[float, ...]:
    """One sign per entry of a state vector laid out as ``features``, from each feature's."""
    missing = [name for name in features if name not in signs]
    wrong = [name for name, size in features.items()
             if name in signs and len(signs[name]) != size]
    if missing or wrong:
        raise ValueError(f"mirror signs missing for {missing}, of the wrong size for {wrong}")
    return tuple(float(s) for name in features for s in signs[name])


def lateral_mirror(features: dict[str, int]) -> dict[str, tuple[float, ...]]:
    """The mirror of features that are all world-frame points or offsets (3 numbers each)."""
    if any(size != 3 for size in features.values()):
        raise ValueError(f"not all of {features} are points: declare their mirror one by one")
    return {name: LATERAL for name in features}
