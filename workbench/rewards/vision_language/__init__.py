"""Goal-conditioned progress from camera frames and a goal sentence (a learned vision-language
reward): the perceptual family's frame encoder, conditioned on a frozen sentence embedding."""

from workbench.rewards.vision_language.config import VisionLanguageConfig
from workbench.rewards.vision_language.fit import counterfactual_goals, fit_vision_language
from workbench.rewards.vision_language.model import VisionLanguageProgressModel

__all__ = ["VisionLanguageConfig", "VisionLanguageProgressModel", "counterfactual_goals",
           "fit_vision_language"]
