"""Perceptual progress rewards: progress in [0, 1] from camera frames of several views."""

from workbench.rewards.perceptual.config import PerceptualConfig
from workbench.rewards.perceptual.fit import fit_perceptual_progress
from workbench.rewards.perceptual.model import PerceptualProgressModel

__all__ = ["PerceptualConfig", "PerceptualProgressModel", "fit_perceptual_progress"]
