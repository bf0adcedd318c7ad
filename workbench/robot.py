"""The robot contract: what a plugin in ``robots/`` declares and provides.

A robot owns its MJCF, its actuators and control modes, its home pose and the hardware mapping
used at export. It knows nothing about scenes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import mujoco
import numpy as np

from workbench.sim.control import Controller
from workbench.sim.mirror import Mirror, hinge_mirror
from workbench.sim.physics import Physics


@dataclass(frozen=True)
class HardwareMapping:
    """How the simulated robot maps onto the real one (written into export bundles)."""

    joint_order: tuple[str, ...]
    joint_units: str  # e.g. "rad", "m"
    control_rate_hz: float
    command: str  # what the driver receives, e.g. "joint_position_target"
    # Each joint's (lower, upper) limit in joint_units, in joint_order; empty where unknown.
    joint_ranges: tuple[tuple[float, float], ...] = ()
    joint_speed_limit: float | None = None  # rad/s, where the maker publishes one
    # The maker's joint convention, per joint in joint_order (empty: the model's is the
    # maker's): hardware angle = direction * simulated angle + zero offset.
    zero_offsets: tuple[float, ...] = ()
    directions: tuple[int, ...] = ()


class Robot(ABC):
    """Base class for robot plugins.

    Subclasses set the class attributes and implement the hooks. Names inside the composed model
    carry :attr:`prefix` (``robot/``), which :meth:`name` adds.
    """

    mjcf: ClassVar[Path]
    control_modes: ClassVar[tuple[str, ...]]
    default_control_mode: ClassVar[str]
    description: ClassVar[str] = ""
    prefix: ClassVar[str] = "robot/"
    # What kind of body this is ("tabletop arm", ...): a scene names the kind it is written
    # for, and any robot of that kind can stand in for the scene's own.
    kind: ClassVar[str] = ""
    # Where the robot's base sits relative to the arena's mount site (a small arm sits closer
    # to the objects).
    mount_offset: ClassVar[tuple[float, float, float]] = (0.0, 0.0, 0.0)
    # Domain randomisation ranges for sim-to-real with this robot (DomainRandomization fields),
    # what ``randomization="robot"`` turns on: how far its model may be from the real one.
    randomization: ClassVar[dict[str, float]] = {}
    # Sites a mirror image must carry to their image too (a grip site): see joints_mirror.
    mirror_sites: ClassVar[tuple[str, ...]] = ()
    # LeRobot's robot type for the real robot this models ("so101_follower"), whose driver
    # names and scales its joints as a dataset of simulated takes can (``--layout joints``).
    lerobot_type: ClassVar[str] = ""
    # What a feature's numbers mean where its name does not say (frames, units, order): shown
    # beside the features to whoever writes reward code, a person or a language model.
    feature_notes: ClassVar[dict[str, str]] = {}
    # Quantities a reward for this robot is often written in whose place in the features a
    # name does not say, as numpy expressions over the features ``f`` (a legged robot's
    # forward speed is one entry of its velocity): the reward-code template starts from them.
    readouts: ClassVar[dict[str, str]] = {}

    def spec(self) -> mujoco.MjSpec:
        from workbench.sim.compose import load_spec

        return load_spec(self.mjcf)

    def name(self, local: str) -> str:
        return self.prefix + local

    @abstractmethod
    def bind(self, physics: Physics) -> None:
        """Resolve ids in the compiled, composed model."""

    @abstractmethod
    def reset(self, physics: Physics, rng: np.random.Generator) -> None:
        """Put the robot at its home pose (with small variations from ``rng``)."""

    @abstractmethod
    def make_controller(self, mode: str, physics: Physics) -> Controller:
        """A controller for one of :attr:`control_modes`."""

    @abstractmethod
    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        """Proprioception, keyed by feature name (see :meth:`features`)."""

    @abstractmethod
    def features(self) -> dict[str, int]:
        """Declared proprioceptive features and their sizes, in observation order."""

    @abstractmethod
    def hardware_mapping(self, control_mode: str, control_dt: float) -> HardwareMapping:
        """Joint order, units and command type for ``control_mode`` on hardware."""

    def scene_view(self, viewer: dict[str, Any]) -> dict[str, Any]:
        """The free camera a scene opens on with this robot (``Task.viewer`` is written for the
        scene's own robot): unchanged here; a small arm moves it in on its table."""
        return dict(viewer)

    def mirror(self) -> dict[str, Mirror] | None:
        """How each feature changes when the robot is mirrored through the vertical plane of its
        base (y -> -y), where the robot is symmetric about it (left and right legs swap); None
        where it is not (the default). See :mod:`workbench.sim.mirror`."""
        return None

    def mirror_joints(self) -> tuple[str, ...]:
        """The hinges (local names) whose twins :meth:`joints_mirror` reads off the model: a
        robot that declares a mirror names them; none by default."""
        return ()

    def joints_mirror(self, model: mujoco.MjModel) -> Mirror | None:
        """:func:`~workbench.sim.mirror.hinge_mirror` of :meth:`mirror_joints` (and
        :attr:`mirror_sites`) in ``model``, read the first time that model is asked about: a
        mirror is wanted once per fit or run, so binding an env pays nothing for it."""
        read = getattr(self, "_mirror_read", None)
        if read is None or read[0] is not model:
            read = (model, hinge_mirror(model, [self.name(j) for j in self.mirror_joints()],
                                        [self.name(s) for s in self.mirror_sites]))
            self._mirror_read = read
        return read[1]

    def measured_command(self, control_mode: str) -> tuple[str, tuple[int, ...]] | None:
        """For absolute position commands: the observation feature that measures what
        ``actions`` command (in order), so a runner on hardware starts from where the robot is.
        None where a zero command already holds the robot (delta and torque commands)."""
        return None

    # -- hardware joints: how a driver mirrors a real robot (workbench/export) ----------------
    def hardware_positions(self, physics: Physics) -> np.ndarray:
        """Joint positions in :meth:`hardware_mapping`'s joint order (what a real robot
        reports)."""
        raise NotImplementedError(f"{type(self).__name__} cannot mirror a real robot's joints")

    def set_hardware_positions(self, physics: Physics, positions: np.ndarray,
                               speeds: np.ndarray) -> None:
        """Put the joints where a real robot says it is (kinematically; call ``forward``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot mirror a real robot's joints")

    def hardware_targets(self, physics: Physics) -> np.ndarray:
        """The joint targets the controller last wrote, in the same order and units."""
        raise NotImplementedError(f"{type(self).__name__} cannot mirror a real robot's joints")

    def check_mode(self, mode: str) -> None:
        if mode not in self.control_modes:
            raise ValueError(
                f"{type(self).__name__} has no control mode {mode!r}; "
                f"choose one of {', '.join(self.control_modes)}"
            )
