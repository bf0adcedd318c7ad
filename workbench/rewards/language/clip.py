"""A CLIP-family zero-shot reward with VLM-RM's goal-baseline projection.

VLM-RM (Rocamonde et al., 2023): embed the goal ("a robot arm with the cube on the green pad")
and a baseline ("a robot arm and a cube on a table"); project image embeddings onto the
direction from baseline to goal, with strength ``alpha``:

    P = alpha * d d^T / |d|^2 + (1 - alpha) * I,    d = goal - baseline
    reward(image) = 1 - 1/2 * |(x - goal) P|^2       (x, goal unit-norm embeddings)

Weights load from a local folder only (no download is possible or attempted): a Hugging Face
``transformers`` CLIP checkpoint (``config.json`` + weights + tokenizer files), which is the
format open_clip's hub models are also published in. Why ``transformers`` rather than
``open_clip``: it needs no torchvision, whose PyPI wheels do not load against the CPU build of
torch this project installs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from workbench import config as cfg
from workbench.checksums import sha256
from workbench.config import validated
from workbench.rewards.artifact import (
    ARTIFACT_VERSION,
    CONFIG,
    ArtifactError,
    read_header,
)
from workbench.rewards.device import pick_device
from workbench.rewards.language.encoder import score_by_goal
from workbench.rewards.metrics import reward_report
from workbench.sentences import check_sentence

CLIP_WEIGHTS = "model.safetensors"

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipGoalReward:
    """Zero-shot reward for frames against a goal sentence, relative to a baseline sentence.

    Example:
        >>> reward = ClipGoalReward.load("/models/clip-vit-b32")
        >>> reward.set_goal("the cube is on the green pad", "a cube on a table")
        >>> reward.score(frames)  # (N, H, W, 3) uint8 -> (N,) rewards
    """

    def __init__(self, model, tokenizer, device: torch.device):
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer
        self.device = device
        self.image_size = int(model.config.vision_config.image_size)
        self.goal: torch.Tensor | None = None
        self.projection: torch.Tensor | None = None

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> ClipGoalReward:
        from transformers import CLIPModel, CLIPTokenizer

        path = Path(path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"no CLIP checkpoint at {path}: expected a folder with config.json, the weights "
                "and tokenizer files (save one with CLIPModel.save_pretrained and "
                "CLIPTokenizer.save_pretrained); nothing is downloaded"
            )
        # safetensors only: a pytorch_model.bin is a pickle and is never loaded.
        model = CLIPModel.from_pretrained(path, local_files_only=True, use_safetensors=True)
        tokenizer = CLIPTokenizer.from_pretrained(path, local_files_only=True)
        return cls(model, tokenizer, pick_device(device))

    @torch.no_grad()
    def embed_text(self, sentences: list[str]) -> torch.Tensor:
        # Longer sentences are cut at the text encoder's context, as CLIP itself does.
        context = int(self.model.config.text_config.max_position_embeddings)
        tokens = self.tokenizer(sentences, padding=True, truncation=True, max_length=context,
                                return_tensors="pt").to(self.device)
        return F.normalize(self._features(self.model.get_text_features(**tokens)), dim=-1)

    @torch.no_grad()
    def embed_images(self, frames: np.ndarray, batch: int = 64) -> torch.Tensor:
        """(N, H, W, 3) uint8 frames -> (N, D) unit embeddings, in batches."""
        mean = torch.tensor(CLIP_MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(CLIP_STD, device=self.device).view(1, 3, 1, 1)
        out = []
        for i in range(0, len(frames), batch):
            x = torch.as_tensor(frames[i : i + batch], device=self.device)
            x = x.permute(0, 3, 1, 2).float().div_(255.0)
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bicubic",
                              align_corners=False).clamp_(0, 1)
            features = self.model.get_image_features(pixel_values=(x - mean) / std)
            out.append(F.normalize(self._features(features), dim=-1))
        return torch.cat(out)

    @staticmethod
    def _features(output) -> torch.Tensor:
        # transformers returns a tensor, or (newer versions) an output object with pooled
        # features; accept both.
        return output if isinstance(output, torch.Tensor) else output.pooler_output

    def set_goal(self, goal: str, baseline: str, alpha: float = 0.5) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1] (0: plain cosine, 1: full projection); "
                             f"got {alpha}")
        goal_vec, base_vec = self.embed_text([goal, baseline])
        direction = goal_vec - base_vec
        direction = direction / direction.norm().clamp_min(1e-8)
        eye = torch.eye(len(direction), device=self.device)
        self.projection = alpha * torch.outer(direction, direction) + (1 - alpha) * eye
        self.goal = goal_vec

    @torch.no_grad()
    def score(self, frames: np.ndarray) -> np.ndarray:
        if self.goal is None or self.projection is None:
            raise RuntimeError("call set_goal(goal, baseline) before scoring frames")
        x = self.embed_images(frames)
        return (1 - 0.5 * ((x - self.goal) @ self.projection).pow(2).sum(-1)).cpu().numpy()


# -- the "clip" reward family: a local checkpoint, cameras and a baseline, measured on a scene ---
@dataclass(frozen=True)
@validated
class ClipConfig:
    """A zero-shot CLIP goal reward for a scene. Nothing is trained: "fitting" checks the
    checkpoint and measures the reward on the scene's recorded episodes."""

    weights: str = field(default="", metadata={
        "help": "folder of a transformers CLIP checkpoint on this computer (config.json, "
                "model.safetensors, tokenizer files); nothing is downloaded"})
    cameras: tuple[str, ...] = field(default=("front",), metadata={
        "help": "views scored (the reward is their mean)"})
    image_size: int = field(default=224, metadata={
        "help": "rendered frame size (resized to the checkpoint's input)", "min": 8,
        "max": 1024})
    baseline: str = field(default="a robot arm and objects on a table", metadata={
        "help": "the sentence the goal is measured against (VLM-RM's baseline)"})
    alpha: float = field(default=0.5, metadata={
        "help": "projection strength: 0 plain cosine, 1 only the baseline-to-goal direction",
        "min": 0.0, "max": 1.0})
    goal: str = field(default="", metadata={
        "help": "goal sentence for recorded episodes that have none (for the report)"})


class ClipGoalModel:
    """The stored form of a CLIP goal reward: the checkpoint's folder and checksum (its weights
    stay where they are kept), cameras, baseline and the report. Bound to a sentence with
    :meth:`for_goal` it is a frame reward a policy trains on."""

    family = "clip_goal"
    config_class = ClipConfig

    def __init__(self, scene: str, config: ClipConfig, device: str = "auto",
                 reward: ClipGoalReward | None = None):
        self.scene, self.config = scene, config
        self.cameras = tuple(config.cameras)
        self.reward = reward or ClipGoalReward.load(config.weights, device)
        self.metrics: dict[str, Any] = {}

    @property
    def frame_config(self) -> ClipConfig:
        return self.config

    def for_goal(self, goal: str) -> ClipGoal:
        return ClipGoal(self, check_sentence(goal))

    def score(self, frames: np.ndarray) -> np.ndarray:
        raise ValueError("a CLIP reward scores frames towards a goal sentence: bind one first "
                         "(model.for_goal('push the cube onto the green pad'))")

    def progress_episode(self, episode, goal: str | None = None) -> np.ndarray:
        """The reward along a recorded episode towards ``goal`` (default: its own goal text,
        else the config's)."""
        goal = goal or episode.meta.get("goal") or self.config.goal
        if not goal:
            raise ValueError(f"episode {episode.id} has no goal text; give the fit one "
                             "(goal=\"push the cube onto the green pad\")")
        missing = [c for c in self.cameras if f"image/{c}" not in episode.keys()]
        if missing:
            raise ValueError(f"episode {episode.id} has no frames of {missing}")
        frames = np.stack([episode[f"image/{c}"] for c in self.cameras], axis=1)
        return self.for_goal(goal).score(frames)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        weights = Path(self.config.weights).resolve()
        header = {"version": ARTIFACT_VERSION, "family": self.family, "scene": self.scene,
                  "config": cfg.to_dict(replace(self.config, weights=str(weights))),
                  "metrics": self.metrics,
                  "checkpoint_sha256": sha256(weights / CLIP_WEIGHTS)}
        (path / CONFIG).write_text(json.dumps(header, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> ClipGoalModel:
        header = read_header(Path(path))
        try:
            config = cfg.from_dict(ClipConfig, header["config"])
            scene = str(header["scene"])
        except Exception as exc:  # a file from anywhere: say where
            raise ArtifactError(f"{path}/{CONFIG} is incomplete or invalid: {exc}") from None
        weights = Path(config.weights) / CLIP_WEIGHTS
        if not weights.is_file():
            raise ArtifactError(f"{path} uses the CLIP checkpoint in {config.weights}, which is "
                                "no longer there; put it back or fit the reward again")
        if sha256(weights) != header.get("checkpoint_sha256"):
            raise ArtifactError(f"the CLIP checkpoint in {config.weights} changed since {path} "
                                "was measured with it; fit the reward again")
        model = cls(scene, config, device)
        model.metrics = header.get("metrics", {})
        return model


class ClipGoal:
    """A CLIP goal reward bound to one sentence: a frame reward over (N, V, H, W, 3) frames."""

    def __init__(self, model: ClipGoalModel, goal: str):
        self.model, self.goal = model, goal
        self.family, self.scene, self.cameras = model.family, model.scene, model.cameras
        self.frame_config, self.metrics = model.frame_config, model.metrics
        self._rewards: dict[str, ClipGoalReward] = {}
        self._reward_towards(goal)  # checks the sentence now, not at the first step

    goal_conditioned = True  # rows may each name their episode's sentence (see GoalProgress)

    def _reward_towards(self, goal: str) -> ClipGoalReward:
        if goal not in self._rewards:
            shared = self.model.reward
            reward = ClipGoalReward(shared.model, shared.tokenizer, shared.device)
            reward.set_goal(goal, self.model.config.baseline, self.model.config.alpha)
            self._rewards[goal] = reward
        return self._rewards[goal]

    def score(self, frames: np.ndarray, goals: np.ndarray | None = None) -> np.ndarray:
        return score_by_goal(self._score_towards, frames, goals, self.goal)

    def _score_towards(self, frames: np.ndarray, goal: str) -> np.ndarray:
        reward = self._reward_towards(goal)
        views = [reward.score(np.ascontiguousarray(frames[:, v]))
                 for v in range(frames.shape[1])]
        return np.mean(views, axis=0).astype(np.float64)


def fit_clip(train, scene: str, negatives, config: ClipConfig, on_epoch=None) -> ClipGoalModel:
    """Check the checkpoint and measure the reward on every recorded episode (nothing is
    trained, so none of them was seen)."""
    if not config.weights:
        raise ValueError("weights: give the folder of a CLIP checkpoint on this computer "
                         "(weights=/path/to/clip); nothing is downloaded")
    try:
        model = ClipGoalModel(scene, config)
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise ValueError(f"weights={config.weights}: {str(exc).splitlines()[0]}") from None
    model.metrics = reward_report(model, train, negatives)
    return model
