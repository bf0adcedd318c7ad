from __future__ import annotations

from dataclasses import dataclass, field

from workbench.config import validated
from workbench.rewards.perceptual.config import PerceptualConfig


@dataclass(frozen=True)
@validated
class VisionLanguageConfig:
    """How a vision-language progress reward is fitted. Each field's help is its CLI/GUI help."""

    frames: PerceptualConfig = field(
        default_factory=lambda: PerceptualConfig(colour_jitter=0.0),
        metadata={"help": "the frame encoder, views and augmentation (no colour jitter by "
                  "default: goals name colours)"})
    counterfactuals: int = field(default=2, metadata={
        "help": "mismatched goals per demo (its goal with another colour or object named), "
                "whose frames are labelled 0 progress", "min": 0, "max": 64})
    mismatch_weight: float = field(default=1.0, metadata={
        "help": "loss weight of frames paired with a mismatched goal", "min": 0.0})

    @property
    def epochs(self) -> int:
        """Passes over the training frames (the frame encoder's setting; progress bars)."""
        return self.frames.epochs
