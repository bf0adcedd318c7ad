"""Reward models learned from feedback, their transforms and their metrics.

Each family is a subpackage with the same shape: ``config.py``, ``model.py``, ``fit.py``.
Artifacts are folders with ``config.json`` and ``model.safetensors``; :func:`load_reward_model`
rebuilds any family from them.
"""

from workbench.rewards.artifact import ArtifactError, load_reward_model

__all__ = ["ArtifactError", "load_reward_model"]
