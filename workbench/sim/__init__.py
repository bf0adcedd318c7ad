"""Simulation core: model composition, physics stepping, rendering and point clouds."""

from workbench.sim.compose import compose
from workbench.sim.physics import Physics, PhysicsDivergence

__all__ = ["Physics", "PhysicsDivergence", "compose"]
