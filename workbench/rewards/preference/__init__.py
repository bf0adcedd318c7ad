"""Preference rewards learned from rankings of segments (Bradley-Terry, Plackett-Luce)."""

from workbench.rewards.preference.config import PreferenceConfig
from workbench.rewards.preference.fit import LabelledQuery, fit_preference
from workbench.rewards.preference.model import PreferenceRewardModel

__all__ = ["LabelledQuery", "PreferenceConfig", "PreferenceRewardModel", "fit_preference"]
