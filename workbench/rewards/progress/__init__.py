"""Progress (process) rewards learned from demonstrations."""

from workbench.rewards.progress.config import ProgressConfig
from workbench.rewards.progress.fit import fit_progress
from workbench.rewards.progress.model import ProgressRewardModel

__all__ = ["ProgressConfig", "ProgressRewardModel", "fit_progress"]
