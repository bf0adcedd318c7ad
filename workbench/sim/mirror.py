"""Left-right mirror symmetry about the world's vertical plane y = 0, read off a compiled model.

The tabletop scenes are laid out symmetrically about the plane through the arm's base, a legged
robot is built alike to either side of its torso, and their truth (distances, openings, height
and forward speed) does not change when a state is mirrored through that plane. A reward told
so (``PreferenceConfig.mirror``) pays a state and its mirror image the same.

How each observed number changes under the mirror (a :class:`Mirror`): world positions and
velocities negate their y (:data:`LATERAL`); a hinge's angle is read from its partner on the
other side (itself, for a joint on the plane), keeping its sign where the two axes are mirror
images pointing opposite ways (a pitch joint) and flipping it where they point alike (yaw,
roll). :func:`hinge_mirror` reads that from the model instead of asking each robot's author.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import mujoco
import numpy as np

LATERAL = (1.0, -1.0, 1.0)  # a world-frame position or velocity mirrored through y = 0
_M = np.diag(LATERAL)
# How far from exact a symmetric robot may be: the Panda's shipped model has its wrist 0.1 mm
# and 0.05 degrees off the plane; the SO-101's servos sit 18 mm to one side (not symmetric).
_ANCHOR_TOLERANCE, _AXIS_TOLERANCE, _SITE_TOLERANCE = 1e-3, 2e-3, 2e-3
_CHECKS = 4  # random joint configurations the mirror is verified at


@dataclass(frozen=True)
class Mirror:
    """How a vector changes under the mirror: entry i of the image is ``signs[i] *
    x[order[i]]`` (a left hip's angle read from the right hip's); ``order`` empty: each entry
    from itself."""

    signs: tuple[float, ...]
    order: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.order and sorted(self.order) != list(range(len(self.signs))):
            raise ValueError(f"mirror order {self.order} is not an arrangement of "
                             f"0..{len(self.signs) - 1}")

    def __len__(self) -> int:
        return len(self.signs)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The mirror image of ``x`` (its last axis the vector)."""
        return (x[..., list(self.order)] if self.order else x) * np.asarray(self.signs)


POINT = Mirror(LATERAL)  # a world-frame point or offset


def hinge_mirror(model: mujoco.MjModel, joints: Sequence[str], sites: Sequence[str] = ()
                 ) -> Mirror | None:
    """How the angles of ``joints`` (hinges) change when the robot is mirrored through y = 0,
    in their order; None where the robot at zero angles is not symmetric about that plane (a
    joint without a partner at its mirror image, an oblique axis).

    Checked, not only derived: at a few random angles, the mirrored angles must put the shapes
    of every jointed body, and each of ``sites`` (a grip site), at the mirror image of where
    they were."""
    ids = [model.joint(name).id for name in joints]
    if any(model.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE for j in ids):
        return None
    data = mujoco.MjData(model)
    addresses = model.jnt_qposadr[ids]
    data.qpos[addresses] = 0.0
    mujoco.mj_kinematics(model, data)
    anchors, axes = data.xanchor[ids].copy(), data.xaxis[ids].copy()
    order, signs = [], []
    for anchor, axis in zip(anchors @ _M, axes @ _M, strict=True):  # each joint's image
        near = np.linalg.norm(anchors - anchor, axis=1) < _ANCHOR_TOLERANCE
        alike = near & (np.linalg.norm(axes - axis, axis=1) < _AXIS_TOLERANCE)
        opposite = near & (np.linalg.norm(axes + axis, axis=1) < _AXIS_TOLERANCE)
        if alike.sum() + opposite.sum() != 1:
            return None
        order.append(int(np.flatnonzero(alike | opposite)[0]))
        signs.append(-1.0 if alike.any() else 1.0)  # a rotation's image turns the other way
    identity = list(range(len(ids)))
    if sorted(order) != identity:  # two joints claim the same twin
        return None
    mirror = Mirror(tuple(signs), () if order == identity else tuple(order))
    # What the check compares: each jointed body's origin and the centres of its primitive
    # shapes (capsules, boxes: a body's axes are no mirror image of its twin's, and a mesh's
    # centre sits where its details put it), and the sites named.
    bodies = model.jnt_bodyid[ids]
    twin_bodies = bodies[list(mirror.order)] if mirror.order else bodies
    primitive = model.geom_type != mujoco.mjtGeom.mjGEOM_MESH
    geoms = [np.flatnonzero((model.geom_bodyid == b) & primitive) for b in bodies]
    twin_geoms = [np.flatnonzero((model.geom_bodyid == b) & primitive) for b in twin_bodies]
    site_ids = [model.site(name).id for name in sites]
    low, high = model.jnt_range[ids].T
    rng = np.random.default_rng(0)
    for _ in range(_CHECKS):
        angles = rng.uniform(np.maximum(low, -1.0), np.minimum(high, 1.0))
        seen = []
        for candidate in (angles, mirror.apply(angles)):
            data.qpos[addresses] = candidate
            mujoco.mj_kinematics(model, data)
            seen.append((data.geom_xpos.copy(), data.xpos[bodies].copy(),
                         data.site_xpos[site_ids].copy()))
        (shapes, origins, site), (shapes_image, origins_image, site_image) = seen
        twin_origins = origins[list(mirror.order)] if mirror.order else origins
        if not (np.allclose(site_image, site @ _M, atol=_SITE_TOLERANCE)
                and np.allclose(origins_image, twin_origins @ _M, atol=_SITE_TOLERANCE)):
            return None
        for own, twin in zip(geoms, twin_geoms, strict=True):
            if len(own) != len(twin) or (len(own) and _farthest(
                    shapes[own] @ _M, shapes_image[twin]) > _SITE_TOLERANCE):
                return None
    return mirror


def _farthest(points: np.ndarray, others: np.ndarray) -> float:
    """How far the point of ``points`` farthest from all of ``others`` is from the nearest."""
    return float(np.linalg.norm(points[:, None] - others[None], axis=-1).min(axis=1).max())


def joined(features: Mapping[str, int], parts: Mapping[str, Mirror]) -> Mirror:
    """The mirror of a state vector laid out as ``features``, from each feature's."""
    missing = [name for name in features if name not in parts]
    wrong = [name for name, size in features.items()
             if name in parts and len(parts[name]) != size]
    if missing or wrong:
        raise ValueError(f"mirror missing for {missing}, of the wrong size for {wrong}")
    signs: list[float] = []
    order: list[int] = []
    for name, size in features.items():
        start, part = len(order), parts[name]
        order += [start + i for i in (part.order or range(size))]
        signs += [float(s) for s in part.signs]
    return Mirror(tuple(signs), () if order == list(range(len(order))) else tuple(order))


def lateral_mirror(features: Mapping[str, int]) -> dict[str, Mirror]:
    """The mirror of features that are all world-frame points or offsets (3 numbers each)."""
    if any(size != 3 for size in features.values()):
        raise ValueError(f"not all of {dict(features)} are points: declare their mirror one "
                         "by one")
    return {name: POINT for name in features}
