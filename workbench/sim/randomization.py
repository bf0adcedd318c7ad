"""Domain randomisation for sim-to-real: dynamics, visuals, sensor noise and action latency.

Every range is relative and symmetric (``mass=0.2`` scales each body's mass by U(0.8, 1.2)),
except camera jitter (metres), light jitter (relative intensity), colour jitter (absolute RGB)
and the noise standard deviation (in observation units). Samples come from the env's seeded
generator at reset, so a seed fixes an episode's randomisation, and :meth:`Randomizer.record`
gives what was drawn, for the episode's metadata.

Each reset first restores the nominal model, then scales it: factors never compound across
episodes. The scene's own variations (object size, mass, colour behind the difficulty knob) are
applied afterwards, so for the scene's objects they take precedence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import mujoco
import numpy as np


@dataclass(frozen=True)
class DomainRandomization:
    mass: float = 0.0  # relative range of every body's mass (inertia scales with it)
    friction: float = 0.0  # relative range of every geom's sliding friction
    damping: float = 0.0  # relative range of every dof's damping
    actuator_gain: float = 0.0  # relative range of every actuator's gain (and bias)
    light: float = 0.0  # relative range of every light's diffuse intensity
    colour: float = 0.0  # absolute RGB jitter of every material and uncoloured geom
    camera: float = 0.0  # metres of position jitter of every fixed camera
    obs_noise: float = 0.0  # std of gaussian noise added to the state observation
    action_latency: int = 0  # control ticks between a command and its effect

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> DomainRandomization:
        if not values:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown randomisation settings {unknown}; the settings are {sorted(known)}"
            )
        dr = cls(**values)
        bad = [name for name, value in asdict(dr).items() if value < 0]
        if bad or any(getattr(dr, k) >= 1 for k in ("mass", "friction", "damping",
                                                    "actuator_gain", "light")):
            raise ValueError(
                "randomisation ranges must be >= 0 and relative ranges < 1 "
                f"(got {asdict(dr)})"
            )
        if dr.action_latency != int(dr.action_latency):
            raise ValueError(f"action_latency counts control ticks: got {dr.action_latency}")
        return dr

    @property
    def enabled(self) -> bool:
        return any(asdict(self).values())


class Randomizer:
    """Applies a :class:`DomainRandomization` to one compiled model, episode after episode."""

    def __init__(self, model: mujoco.MjModel, config: DomainRandomization):
        self.model = model
        self.config = config
        self._nominal = {
            "body_mass": model.body_mass.copy(),
            "body_inertia": model.body_inertia.copy(),
            "geom_friction": model.geom_friction.copy(),
            "dof_damping": model.dof_damping.copy(),
            "actuator_gainprm": model.actuator_gainprm.copy(),
            "actuator_biasprm": model.actuator_biasprm.copy(),
            "light_diffuse": model.light_diffuse.copy(),
            "mat_rgba": model.mat_rgba.copy(),
            "geom_rgba": model.geom_rgba.copy(),
            "cam_pos": model.cam_pos.copy(),
        }
        # Only cameras fixed in the world jitter; cameras on the robot move with it.
        self._fixed_cameras = np.flatnonzero(model.cam_bodyid == 0)
        self._uncoloured = np.flatnonzero(model.geom_matid < 0)
        self.drawn: dict[str, Any] = {}

    def apply(self, rng: np.random.Generator) -> None:
        model, c, nominal = self.model, self.config, self._nominal
        for name, value in nominal.items():
            getattr(model, name)[:] = value
        drawn: dict[str, Any] = {}

        def factors(size: int, spread: float) -> np.ndarray:
            return rng.uniform(1 - spread, 1 + spread, size=size) if spread else np.ones(size)

        if c.mass:
            scale = factors(model.nbody, c.mass)
            scale[0] = 1.0  # the world body has no mass
            model.body_mass[:] *= scale
            model.body_inertia[:] *= scale[:, None]
            drawn["mass"] = scale
        if c.friction:
            scale = factors(model.ngeom, c.friction)
            model.geom_friction[:, 0] *= scale
            drawn["friction"] = scale
        if c.damping:
            scale = factors(model.nv, c.damping)
            model.dof_damping[:] *= scale
            drawn["damping"] = scale
        if c.actuator_gain:
            scale = factors(model.nu, c.actuator_gain)
            model.actuator_gainprm[:, 0] *= scale
            # Position servos carry -kp in biasprm[1]; scale it too so they still track.
            model.actuator_biasprm[:, 1:3] *= scale[:, None]
            drawn["actuator_gain"] = scale
        if c.light and model.nlight:
            scale = factors(model.nlight, c.light)
            model.light_diffuse[:] *= scale[:, None]
            drawn["light"] = scale
        if c.colour:
            model.mat_rgba[:, :3] = np.clip(
                model.mat_rgba[:, :3] + rng.uniform(-c.colour, c.colour, (model.nmat, 3)), 0, 1
            )
            geoms = self._uncoloured
            model.geom_rgba[geoms, :3] = np.clip(
                model.geom_rgba[geoms, :3] + rng.uniform(-c.colour, c.colour, (len(geoms), 3)),
                0, 1,
            )
            drawn["colour"] = c.colour
        if c.camera and len(self._fixed_cameras):
            offset = rng.uniform(-c.camera, c.camera, size=(len(self._fixed_cameras), 3))
            model.cam_pos[self._fixed_cameras] += offset
            drawn["camera"] = offset
        self.drawn = drawn

    def record(self) -> dict[str, Any]:
        """The settings and the factors drawn this episode, as plain JSON-ready values."""
        return {
            "config": asdict(self.config),
            "drawn": {k: np.asarray(v).round(6).tolist() for k, v in self.drawn.items()},
        }
