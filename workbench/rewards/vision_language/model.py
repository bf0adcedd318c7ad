"""A goal-conditioned perceptual progress model: frames of several views and a goal sentence ->
progress in [0, 1] towards that goal.

The views are encoded by the perceptual family's shared CNN and fused; the goal's frozen
sentence embedding (all-MiniLM-L6-v2, offline) modulates the fused features by FiLM (a
per-feature scale and shift), so one network scores the same frames differently for different
goals. Only the frame encoder and the fusion are trained: with a handful of demos, a trainable
text encoder would memorise their sentences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench import config as cfg
from workbench.rewards.artifact import (
    ArtifactError,
    load_weights,
    pick_device,
    read_header,
    save_artifact,
)
from workbench.rewards.language.encoder import embed
from workbench.rewards.perceptual.model import ViewEncoder, to_tensor
from workbench.rewards.vision_language.config import VisionLanguageConfig

EMBEDDING_DIM = 384


class VisionLanguageNet(nn.Module):
    def __init__(self, views: int, config: VisionLanguageConfig):
        super().__init__()
        frames = config.frames
        self.encoder = ViewEncoder(frames.channels, frames.feature_dim, frames.image_size,
                                   frames.keypoints)
        self.fuse = nn.Linear(views * frames.feature_dim, frames.hidden)
        self.film = nn.Linear(EMBEDDING_DIM, 2 * frames.hidden)
        nn.init.zeros_(self.film.weight)  # start as the unconditioned perceptual model
        nn.init.zeros_(self.film.bias)
        self.head = nn.Sequential(nn.SiLU(), nn.Linear(frames.hidden, frames.hidden), nn.SiLU(),
                                  nn.Linear(frames.hidden, 1))

    def frame_features(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, V, 3, H, W) in [0, 1] -> (N, hidden) fused view features."""
        n = images.shape[0]
        return self.fuse(self.encoder(images.flatten(0, 1)).view(n, -1))

    def goal_logits(self, features: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        """Progress logits of fused features under goals (N, 384): the frames are encoded once
        and scored under as many goals as needed (fitting scores each under two)."""
        scale, shift = self.film(goals).chunk(2, dim=-1)
        return self.head(features * (1 + scale) + shift).squeeze(-1)

    def logits(self, images: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        return self.goal_logits(self.frame_features(images), goals)


class VisionLanguageProgressModel:
    """Progress towards a goal sentence from the configured cameras' frames.

    Example:
        >>> model = fit_vision_language(demos, "Push")
        >>> model.progress_episode(episode, "push the blue cube onto the green pad")
    """

    family = "vision_language_progress"

    def __init__(self, scene: str, config: VisionLanguageConfig = VisionLanguageConfig(),
                 device: str = "auto"):
        self.scene = scene
        self.config = config
        self.cameras = tuple(config.frames.cameras)
        self.device = pick_device(device)
        self.net = VisionLanguageNet(len(self.cameras), config).to(self.device)
        self.metrics: dict[str, Any] = {}

    def frames_of(self, episode) -> np.ndarray:
        missing = [c for c in self.cameras if f"image/{c}" not in episode.keys()]
        if missing:
            raise ValueError(
                f"episode {episode.id} has no frames of {missing}; record with these cameras "
                f"(Recorder(image_cameras={self.cameras})) or render them from its states "
                "(workbench.data.replay.with_frames)"
            )
        return np.stack([episode[f"image/{c}"] for c in self.cameras], axis=1)

    @staticmethod
    def goal_of(episode) -> str:
        goal = episode.meta.get("goal")
        if not goal:
            raise ValueError(f"episode {episode.id} has no goal text; give one "
                             "(progress_episode(episode, goal='push the red cube ...'))")
        return goal

    @torch.no_grad()
    def progress(self, frames: np.ndarray, goal: str, batch: int = 256) -> np.ndarray:
        """Progress towards ``goal`` for (N, V, H, W, 3) uint8 frames."""
        self.net.eval()
        vector = torch.as_tensor(embed([goal]), device=self.device)
        out = []
        for i in range(0, len(frames), batch):
            images = to_tensor(frames[i : i + batch], self.config.frames.image_size, self.device)
            out.append(torch.sigmoid(self.net.logits(images, vector.expand(len(images), -1))))
        return torch.cat(out).cpu().numpy() if out else np.zeros(0, np.float32)

    def progress_episode(self, episode, goal: str | None = None) -> np.ndarray:
        """Progress of every frame towards ``goal`` (default: the episode's own goal text)."""
        return self.progress(self.frames_of(episode), goal or self.goal_of(episode))

    # -- artifacts ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        header = {"family": self.family, "scene": self.scene, "config": cfg.to_dict(self.config),
                  "metrics": self.metrics}
        return save_artifact(Path(path), header, self.net)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> VisionLanguageProgressModel:
        header = read_header(Path(path))
        if header.get("family") != cls.family:
            raise ArtifactError(f"{path} holds a {header.get('family')!r} model, not {cls.family}")
        try:
            config = cfg.from_dict(VisionLanguageConfig, header["config"])
            model = cls(header["scene"], config, device)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{path}/config.json is incomplete or invalid: {exc}") from exc
        load_weights(Path(path), model.net)
        model.metrics = header.get("metrics", {})
        return model
