"""A goal-conditioned perceptual progress model: frames of several views and a goal sentence ->
progress in [0, 1] towards that goal.

The views are encoded by the perceptual family's shared CNN and fused; the goal's frozen
sentence embedding (all-MiniLM-L6-v2, offline) modulates the fused features by FiLM (a
per-feature scale and shift), so one network scores the same frames differently for different
goals. Only the frame encoder and the fusion are trained: with a handful of demos, a trainable
text encoder would memorise their sentences.

Where the sentence chooses among things present together (PushChoice's two pads), the encoder
can be pretrained (``frames.pretrain``) to read where each thing is; the model then sees the
relations between them, and the demos only have to teach which relation a colour word means.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench.rewards.language.encoder import embed, score_by_goal
from workbench.rewards.perceptual.config import PerceptualConfig
from workbench.rewards.perceptual.model import (
    FrameRewardModel,
    StateReader,
    ViewEncoder,
    to_tensor,
)
from workbench.rewards.vision_language.config import VisionLanguageConfig
from workbench.sentences import check_sentence

EMBEDDING_DIM = 384


class VisionLanguageNet(StateReader):
    """``layout`` (with ``frames.pretrain``): the views are read as the relations between
    things in the scene (:class:`StateReader`), and the goal picks which of them matter."""

    def __init__(self, views: int, config: VisionLanguageConfig,
                 layout: dict[str, int] | None = None):
        super().__init__()
        frames = config.frames
        self.encoder = ViewEncoder(frames.channels, frames.feature_dim, frames.image_size,
                                   frames.keypoints)
        self.layout = layout
        inputs = (views * frames.feature_dim if layout is None
                  else self.add_reader(views, frames, layout))
        self.fuse = nn.Linear(inputs, frames.hidden)
        self.film = nn.Linear(EMBEDDING_DIM, 2 * frames.hidden)
        nn.init.zeros_(self.film.weight)  # start as the unconditioned perceptual model
        nn.init.zeros_(self.film.bias)
        heads = 2 if frames.success_head else 1  # time along the demos (, succeeded)
        self.head = nn.Sequential(nn.SiLU(), nn.Linear(frames.hidden, frames.hidden), nn.SiLU(),
                                  nn.Linear(frames.hidden, heads))

    def frame_features(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, V, 3, H, W) in [0, 1] -> (N, hidden) fused view features."""
        if self.layout is not None:
            return self.fuse(self.seen_relations(images))
        n = images.shape[0]
        return self.fuse(self.encoder(images.flatten(0, 1)).view(n, -1))

    def goal_logits(self, features: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        """(N, heads) logits of fused features under goals (N, 384): the frames are encoded
        once and scored under as many goals as needed (fitting scores each under two)."""
        scale, shift = self.film(goals).chunk(2, dim=-1)
        return self.head(features * (1 + scale) + shift)

    def progress(self, images: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        """Progress in [0, 1]: the time head, averaged with the success head if there is one."""
        return torch.sigmoid(self.goal_logits(self.frame_features(images), goals)).mean(-1)

    def progress_from(self, features: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        """Progress from encoded views (:meth:`StateReader.encode`; a pretrained encoder)."""
        return torch.sigmoid(self.goal_logits(self.fuse(self.relations_from(features)),
                                              goals)).mean(-1)


class VisionLanguageProgressModel(FrameRewardModel):
    """Progress towards a goal sentence from the configured cameras' frames.

    Example:
        >>> model = fit_vision_language(demos, "Push")
        >>> model.progress_episode(episode, "push the blue cube onto the green pad")
    """

    family = "vision_language_progress"
    config_class = VisionLanguageConfig

    def __init__(self, scene: str, config: VisionLanguageConfig = VisionLanguageConfig(),
                 device: str = "auto", layout: dict[str, int] | None = None):
        super().__init__(scene, config, device, layout)

    @property
    def frame_config(self) -> PerceptualConfig:
        return self.config.frames

    def _build_net(self) -> VisionLanguageNet:
        return VisionLanguageNet(len(self.cameras), self.config, self.layout)

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
        return self.progress_towards(frames, embed([goal]), batch)

    @torch.no_grad()
    def progress_towards(self, frames: np.ndarray, goal_vector: np.ndarray, batch: int = 256
                         ) -> np.ndarray:
        """Progress towards an embedded goal (1, 384): a sentence embedded once."""
        self.net.eval()
        vector = torch.as_tensor(goal_vector, device=self.device)
        out = []
        for i in range(0, len(frames), batch):
            images = to_tensor(frames[i : i + batch], self.config.frames.image_size, self.device)
            out.append(self.net.progress(images, vector.expand(len(images), -1)))
        return torch.cat(out).cpu().numpy() if out else np.zeros(0, np.float32)

    @torch.no_grad()
    def progress_encoded(self, features: np.ndarray, goal_vector: np.ndarray) -> np.ndarray:
        """Progress towards an embedded goal of frames already :meth:`encode`d."""
        self.net.eval()
        x = torch.as_tensor(features, device=self.device)
        vector = torch.as_tensor(goal_vector, device=self.device).expand(len(x), -1)
        return self.net.progress_from(x, vector).double().cpu().numpy()

    def progress_episode(self, episode, goal: str | None = None) -> np.ndarray:
        """Progress of every frame towards ``goal`` (default: the episode's own goal text)."""
        return self.progress(self.frames_of(episode), goal or self.goal_of(episode))

    def for_goal(self, goal: str) -> GoalProgress:
        """This model as a reward over frames alone, towards one sentence (what a training
        run on ``--goal`` scores)."""
        return GoalProgress(self, check_sentence(goal))


class GoalProgress:
    """A vision-language model bound to a run's goal sentence: a frame reward like the
    perceptual family's (``cameras``, ``frame_config``, ``score``). Goal-conditioned: where the
    envs draw the sentence's choice per episode, ``score(frames, goals)`` scores each row
    towards its own episode's sentence."""

    goal_conditioned = True

    def __init__(self, model: VisionLanguageProgressModel, goal: str):
        self.model, self.goal = model, goal
        self.family, self.scene, self.cameras = model.family, model.scene, model.cameras
        self.frame_config, self.metrics = model.frame_config, model.metrics
        self.net, self.reads_state, self.encode = model.net, model.reads_state, model.encode
        self._vectors = {goal: embed([goal])}

    def score(self, frames: np.ndarray, goals: np.ndarray | None = None) -> np.ndarray:
        return score_by_goal(
            lambda rows, goal: self.model.progress_towards(rows, self._vector(goal)),
            frames, goals, self.goal)

    def score_encoded(self, features: np.ndarray, goals: np.ndarray | None = None
                      ) -> np.ndarray:
        """:meth:`score` of frames already :meth:`encode`d."""
        return score_by_goal(
            lambda rows, goal: self.model.progress_encoded(rows, self._vector(goal)),
            features, goals, self.goal)

    def save(self, path: str | Path) -> Path:
        """The model bound to the goal (the goal is the run's, kept with the run)."""
        return self.model.save(path)

    def _vector(self, goal: str) -> np.ndarray:
        if goal not in self._vectors:  # a run's sentences are few: each embedded once
            self._vectors[goal] = embed([check_sentence(goal)])
        return self._vectors[goal]

