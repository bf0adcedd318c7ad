"""Self-describing reward artifacts: ``config.json`` (family, version, constructor arguments,
declared input features) beside ``model.safetensors`` (weights only: no pickles)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from workbench.checksums import mismatched, sha256
from workbench.rewards import families

ARTIFACT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "model.safetensors"


class ArtifactError(RuntimeError):
    """A reward artifact is missing, corrupt, or does not fit what it is used with."""


def save_artifact(path: Path, header: dict[str, Any], module: torch.nn.Module) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(path / WEIGHTS))
    header = {"version": ARTIFACT_VERSION, **header, "sha256": {WEIGHTS: sha256(path / WEIGHTS)}}
    (path / CONFIG).write_text(json.dumps(header, indent=1))
    return path


def read_header(path: Path) -> dict[str, Any]:
    path = Path(path)
    config = path / CONFIG
    if not config.exists():
        raise ArtifactError(f"{path} is not a reward artifact: it has no {CONFIG}")
    try:
        header = json.loads(config.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{config} is corrupt ({exc}); refit the reward model") from exc
    if not isinstance(header, dict):
        raise ArtifactError(f"{config} is not a JSON object; refit the reward model")
    if header.get("version") != ARTIFACT_VERSION:
        raise ArtifactError(
            f"{path} has artifact version {header.get('version')}; this workbench reads "
            f"version {ARTIFACT_VERSION}"
        )
    return header


def load_weights(path: Path, module: torch.nn.Module, header: dict[str, Any]) -> None:
    """``module``'s weights from the artifact whose ``config.json`` was read as ``header``."""
    weights = Path(path) / WEIGHTS
    if not weights.exists():
        raise ArtifactError(f"{path} has no {WEIGHTS}; the artifact is incomplete")
    expected = header.get("sha256")  # absent in artifacts from before
    if isinstance(expected, dict) and mismatched(path, expected):
        raise ArtifactError(f"{weights} does not match the checksum in its {CONFIG}: the file "
                            "changed after it was written; refit the reward model")
    try:
        state = load_file(str(weights))
    except Exception as exc:  # safetensors raises its own error types
        raise ArtifactError(f"{weights} is corrupt ({exc}); refit the reward model") from exc
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ArtifactError(
            f"{weights} does not match its {CONFIG} (shapes or names differ): {exc}"
        ) from exc


def load_reward_model(path: str | Path, device: str = "auto") -> Any:
    """Load any reward artifact folder.

    Example:
        >>> model = load_reward_model("workspace/models/progress-20261122-101500")
        >>> model.progress(states)
    """
    header = read_header(Path(path))
    try:
        family = families.by_artifact(str(header.get("family")))
    except ValueError as exc:
        raise ArtifactError(f"{path}: {exc}") from None
    return family.model_class.load(path, device=device)
