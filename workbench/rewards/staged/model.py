"""A stage-aware progress model over states: a shared MLP with one logit per stage ("done?")
and one progress logit; progress is gated by the stage discriminators."""

from __future__ import annotations

import numpy as np
import torch

from workbench.rewards.base import StateRewardModel
from workbench.rewards.progress.model import ProgressNet
from workbench.rewards.staged.config import StagedConfig


class StagedNet(ProgressNet):
    """The progress MLP with S + 1 outputs: one logit per stage ("done?"), then progress."""

    def __init__(self, input_dim: int, hidden: tuple[int, ...], stages: int):
        super().__init__(input_dim, hidden, stages + 1)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """(N, d) -> (N, S + 1) logits."""
        return self.body((states - self.mean) / self.std)


class StagedProgressModel(StateRewardModel):
    """Progress in [0, 1] from states, with the stage it is in.

    ``config.stages`` holds the stage names the model was fitted with (the scene's, or
    "step 1".. for discovered ones). With ``config.gate`` progress is capped at
    (expected stages done + 1) / S, where stage k counts as done only if stages 1..k all are:
    a policy cannot collect the progress of a later stage without doing the earlier ones.

    Example:
        >>> model = fit_staged(demos, "PickPlace", env.features, failures)
        >>> model.stage_probabilities(states)  # (N, 5): reached, grasped, lifted, ...
    """

    family = "staged_progress"
    config_class = StagedConfig

    def __init__(self, input_dim: int, features: dict[str, int], scene: str,
                 config: StagedConfig = StagedConfig(), device: str = "auto"):
        if not config.stages:
            raise ValueError("a staged progress model needs its stage names (fit_staged fills "
                             "them in from the scene or discovers them)")
        super().__init__(input_dim, features, scene, config, device)

    def _build_net(self) -> StagedNet:
        return StagedNet(self.input_dim, self.config.hidden, len(self.config.stages))

    @torch.no_grad()
    def stage_probabilities(self, states: np.ndarray) -> np.ndarray:
        """(N, S): probability that each stage is done (not gated)."""
        return torch.sigmoid(self.net(self._tensor(states))[:, :-1]).cpu().numpy()

    @torch.no_grad()
    def progress(self, states: np.ndarray) -> np.ndarray:
        logits = self.net(self._tensor(states))
        progress = torch.sigmoid(logits[:, -1])
        if self.config.gate:
            done = torch.cumprod(torch.sigmoid(logits[:, :-1]), dim=1).sum(dim=1)
            progress = torch.minimum(progress, (done + 1) / len(self.config.stages))
        return progress.cpu().numpy()

    def score(self, states: np.ndarray) -> np.ndarray:
        return self.progress(states)
