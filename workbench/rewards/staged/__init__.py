"""Stage-aware progress: one discriminator per stage (named by the scene, or discovered from a
few demos) and a progress head whose target is (stages done + time within the current stage)
/ number of stages, gated by the discriminators."""

from workbench.rewards.staged.config import StagedConfig
from workbench.rewards.staged.fit import fit_staged
from workbench.rewards.staged.labels import discover_steps, stage_predicates, stage_times
from workbench.rewards.staged.model import StagedProgressModel

__all__ = ["StagedConfig", "StagedProgressModel", "discover_steps", "fit_staged",
           "stage_predicates", "stage_times"]
