"""Reward models learned from feedback, their transforms and their metrics.

Each family is a subpackage with the same shape (``config.py``, ``model.py``, ``fit.py``) and
one entry in :mod:`workbench.rewards.families`. Artifacts are folders with ``config.json`` and
``model.safetensors``; :func:`load_reward_model` rebuilds any family from them.

The package itself imports nothing heavy, so that the CLI can list the families without torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ArtifactError", "load_reward_model"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from workbench.rewards import artifact

        return getattr(artifact, name)
    raise AttributeError(f"module 'workbench.rewards' has no attribute {name!r}")
