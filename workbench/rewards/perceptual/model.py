"""A perceptual progress model: one small CNN shared by every view, the views' features fused
by an MLP, a sigmoid -> progress in [0, 1] per frame.

Why one encoder for all views: the same shapes (gripper, objects) appear in each, and with a
handful of demonstrations the data is too small to train one network per camera.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workbench import config as cfg
from workbench.rewards.artifact import (
    ArtifactError,
    load_weights,
    read_header,
    save_artifact,
)
from workbench.rewards.device import autocast, pick_device, pick_precision
from workbench.rewards.perceptual.config import PerceptualConfig
from workbench.rewards.perceptual.pretrain import relation_slices, relations, state_layout


class SpatialSoftmax(nn.Module):
    """Each channel's softmax over the image -> its expected (x, y): keypoints in [-1, 1]
    (Levine et al., 2016). Where things are, not what the whole image looks like: a progress
    signal that depends on the gripper's and objects' positions carries over to layouts a
    single demo never showed."""

    def __init__(self, channels: int):
        super().__init__()
        self.log_temperature = nn.Parameter(torch.zeros(channels))

    def forward(self, maps: torch.Tensor) -> torch.Tensor:  # (N, C, h, w) -> (N, 2C)
        n, c, h, w = maps.shape
        weights = torch.softmax(
            maps.flatten(2) / self.log_temperature.exp().view(1, c, 1), dim=-1).view(n, c, h, w)
        ys = torch.linspace(-1, 1, h, device=maps.device)
        xs = torch.linspace(-1, 1, w, device=maps.device)
        x = (weights.sum(dim=2) * xs).sum(dim=-1)
        y = (weights.sum(dim=3) * ys).sum(dim=-1)
        return torch.cat([x, y], dim=1)


class ViewEncoder(nn.Module):
    """``reference=True``: each view is seen beside its change since a reference frame (the
    episode's first), six channels instead of three. ``precision``: the dtype the convolutions
    autocast to (None: float32), set by the model for its device; the layers after them stay
    float32 (:mod:`workbench.rewards.device`)."""

    precision: torch.dtype | None = None

    def __init__(self, channels: int, feature_dim: int, image_size: int,
                 keypoints: bool = False, reference: bool = False):
        super().__init__()
        c = channels
        inputs = 6 if reference else 3
        self.conv = nn.Sequential(
            nn.Conv2d(inputs, c, 3, stride=2), nn.ReLU(),
            nn.Conv2d(c, c, 3, stride=2), nn.ReLU(),
            nn.Conv2d(c, c, 3, stride=1), nn.ReLU(),
            nn.Conv2d(c, c, 3, stride=1), *(() if keypoints else (nn.ReLU(),)),
        )
        self.pool = SpatialSoftmax(c) if keypoints else nn.Flatten(1)
        with torch.no_grad():
            flat = self.pool(self.conv(torch.zeros(1, inputs, image_size, image_size))).numel()
        self.head = nn.Sequential(nn.Linear(flat, feature_dim), nn.LayerNorm(feature_dim),
                                  nn.Tanh())

    def forward(self, images: torch.Tensor, reference: torch.Tensor | None = None
                ) -> torch.Tensor:  # (N, 3, H, W) in [0, 1], reference alike
        x = images - 0.5
        if reference is not None:
            x = torch.cat([x, images - reference], dim=1)
        with autocast(x.device.type, self.precision):
            maps = self.conv(x)
        return self.head(self.pool(maps.float()))


class StateReader(nn.Module):
    """What a net with a pretrained encoder adds (:mod:`workbench.rewards.perceptual.pretrain`):
    a linear probe that reads the scene's state (``layout``) from the encoder's features, and
    the relations between things in it, standardised, which are all its heads then see."""

    # Buffers (saved with the weights, not trained), present when the encoder is pretrained.
    state_mean: torch.Tensor
    state_std: torch.Tensor
    relation_mean: torch.Tensor
    relation_std: torch.Tensor
    encoder: ViewEncoder

    def add_reader(self, views: int, config: PerceptualConfig, layout: dict[str, int]) -> int:
        """Build the probe and buffers; returns how many relations the heads see."""
        state = sum(layout.values())
        self.relation_slices = relation_slices(layout)
        self.probe = nn.Linear(views * config.feature_dim, state)
        self.register_buffer("state_mean", torch.zeros(state))
        self.register_buffer("state_std", torch.ones(state))
        self.heights = config.heights
        count = self.relations_of(torch.zeros(1, state)).shape[1]
        self.register_buffer("relation_mean", torch.zeros(count))
        self.register_buffer("relation_std", torch.ones(count))
        return count

    def relations_of(self, state: torch.Tensor) -> torch.Tensor:
        """(N, D) states -> the relations between things the heads see."""
        return relations(state, *self.relation_slices, heights=self.heights)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(N, V, 3, H, W) -> (N, V * feature_dim): every view's encoder features, side by side
        (what the probe reads; a run refitting the probe keeps them)."""
        return self.encoder(images.flatten(0, 1)).view(images.shape[0], -1)

    def state_from(self, features: torch.Tensor) -> torch.Tensor:
        """Encoded views -> the scene's state as the probe reads it, in its own units."""
        return self.probe(features) * self.state_std + self.state_mean

    def read_state(self, images: torch.Tensor) -> torch.Tensor:
        """(N, V, 3, H, W) -> the scene's state as the probe reads it, in its own units."""
        return self.state_from(self.encode(images))

    def relations_from(self, features: torch.Tensor) -> torch.Tensor:
        """Encoded views -> the standardised relations the heads see."""
        return ((self.relations_of(self.state_from(features)) - self.relation_mean)
                / self.relation_std)

    def seen_relations(self, images: torch.Tensor) -> torch.Tensor:
        """(N, V, 3, H, W) -> the standardised relations the heads see."""
        return self.relations_from(self.encode(images))


class PerceptualProgressNet(StateReader):
    """``layout`` (the scene's state features, with ``config.pretrain``): the encoder also
    has a linear probe that reads the state, and the heads see only the relations between
    things in it (:class:`StateReader`)."""

    def __init__(self, views: int, config: PerceptualConfig,
                 layout: dict[str, int] | None = None):
        super().__init__()
        self.views = views
        self.encoder = ViewEncoder(config.channels, config.feature_dim, config.image_size,
                                   config.keypoints, config.reference_frame)
        heads = 2 if config.success_head else 1  # time along the demos (, succeeded)
        self.layout = layout
        inputs = (views * config.feature_dim if layout is None
                  else self.add_reader(views, config, layout))
        self.fuse = nn.Sequential(nn.Linear(inputs, config.hidden),
                                  nn.SiLU(), nn.Linear(config.hidden, heads))

    def logits(self, images: torch.Tensor, reference: torch.Tensor | None = None
               ) -> torch.Tensor:  # (N, V, 3, H, W), reference alike -> (N, heads)
        if self.layout is not None:
            return self.fuse(self.seen_relations(images))
        n = images.shape[0]
        features = self.encoder(images.flatten(0, 1),
                                None if reference is None else reference.flatten(0, 1))
        return self.fuse(features.view(n, -1))

    def progress(self, images: torch.Tensor, reference: torch.Tensor | None = None
                 ) -> torch.Tensor:
        """Progress in [0, 1]: the time head, averaged with the success head if there is one."""
        return torch.sigmoid(self.logits(images, reference)).mean(-1)

    def progress_from(self, features: torch.Tensor) -> torch.Tensor:
        """Progress from encoded views (:meth:`StateReader.encode`; a pretrained encoder)."""
        return torch.sigmoid(self.fuse(self.relations_from(features))).mean(-1)


def to_tensor(frames: np.ndarray, size: int, device: torch.device) -> torch.Tensor:
    """(N, V, H, W, 3) uint8 -> (N, V, 3, size, size) float in [0, 1] on ``device``."""
    x = torch.as_tensor(frames, device=device)
    n, v, h, w, _ = x.shape
    x = x.permute(0, 1, 4, 2, 3).float().div_(255.0)
    if (h, w) != (size, size):
        x = F.interpolate(x.flatten(0, 1), size=(size, size), mode="area").view(n, v, 3, size,
                                                                               size)
    return x


class FrameRewardModel:
    """What reward models over camera frames share: the configured cameras' frames of an
    episode, the device, and the ``config.json`` + safetensors artifact. Subclasses set
    ``family`` and ``config_class`` and build ``net`` from ``frame_config``."""

    family: ClassVar[str]
    config_class: ClassVar[type]

    net: Any  # the family's torch module (its own class)

    def __init__(self, scene: str, config: Any, device: str = "auto",
                 layout: dict[str, int] | None = None):
        self.scene = scene
        self.config = config
        # A pretrained encoder reads the scene's state features: the fit looks them up (it
        # builds the scene anyway); the artifact carries them, so loading builds nothing.
        self.layout = (dict(layout) if layout is not None
                       else state_layout(scene) if self.frame_config.pretrain else None)
        self.cameras = tuple(self.frame_config.cameras)
        self.device = pick_device(device)
        self.net = self._build_net().to(self.device)
        self.net.encoder.precision = pick_precision(self.frame_config.precision, self.device)
        self.metrics: dict[str, Any] = {}

    @property
    def precision(self) -> torch.dtype | None:
        """What the encoder's convolutions autocast to (None: float32); the encoder holds it."""
        return self.net.encoder.precision

    @property
    def frame_config(self) -> PerceptualConfig:
        return self.config

    def _build_net(self) -> nn.Module:
        raise NotImplementedError

    @property
    def reads_state(self) -> bool:
        """Whether the frames are read through a pretrained encoder's state probe, which a
        training run may refit on the states its policy visits (:mod:`workbench.rl.distill`)."""
        return self.layout is not None

    @torch.no_grad()
    def encode(self, frames: np.ndarray, batch: int = 256) -> np.ndarray:
        """(N, V, H, W, 3) uint8 -> (N, V * feature_dim) float32 encoder features (a model
        that :attr:`reads_state`): what :meth:`score_encoded` scores and the probe reads."""
        self.net.eval()
        size = self.frame_config.image_size
        out = [self.net.encode(to_tensor(frames[i : i + batch], size, self.device)).cpu()
               for i in range(0, len(frames), batch)]
        return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)

    def frames_of(self, episode) -> np.ndarray:
        """An episode's frames of this model's cameras: (T, V, H, W, 3) uint8."""
        missing = [c for c in self.cameras if f"image/{c}" not in episode.keys()]
        if missing:
            raise ValueError(
                f"episode {episode.id} has no frames of {missing}; record with these cameras "
                f"(Recorder(image_cameras={self.cameras})) or render them from its states "
                "(workbench.envs.replay.with_frames)"
            )
        return np.stack([episode[f"image/{c}"] for c in self.cameras], axis=1)

    def _extra_header(self) -> dict[str, Any]:
        """What the net needs besides scene and config to be rebuilt from the file."""
        return {"layout": self.layout} if self.layout is not None else {}

    def save(self, path: str | Path) -> Path:
        header = {"family": self.family, "scene": self.scene, "config": cfg.to_dict(self.config),
                  "metrics": self.metrics, **self._extra_header()}
        return save_artifact(Path(path), header, self.net)

    @classmethod
    def _init_extra(cls, header: dict[str, Any]) -> dict[str, Any]:
        # Artifacts from before the layout was saved look it up (building the scene once).
        return {"layout": header["layout"]} if header.get("layout") else {}

    @classmethod
    def load(cls, path: str | Path, device: str = "auto"):
        header = read_header(Path(path))
        if header.get("family") != cls.family:
            raise ArtifactError(f"{path} holds a {header.get('family')!r} model, not {cls.family}")
        try:
            model = cls(header["scene"], cfg.from_dict(cls.config_class, header["config"]), device,
                        **cls._init_extra(header))
        except Exception as exc:  # a file from anywhere: whatever is wrong, say where
            raise ArtifactError(f"{path}/config.json is incomplete or invalid: {exc}") from exc
        load_weights(Path(path), model.net, header)
        model.metrics = header.get("metrics", {})
        return model


class PerceptualProgressModel(FrameRewardModel):
    """Maps frames of the configured cameras to progress in [0, 1].

    Example:
        >>> model = fit_perceptual_progress([demo], "Push")
        >>> model.progress_episode(workspace.load_episode(7)).shape
        (80,)
    """

    family = "perceptual_progress"
    config_class = PerceptualConfig

    def __init__(self, scene: str, config: PerceptualConfig = PerceptualConfig(),
                 device: str = "auto", layout: dict[str, int] | None = None):
        super().__init__(scene, config, device, layout)

    def _build_net(self) -> PerceptualProgressNet:
        return PerceptualProgressNet(len(self.cameras), self.config, self.layout)

    @torch.no_grad()
    def progress(self, frames: np.ndarray, start: np.ndarray | None = None,
                 batch: int = 256) -> np.ndarray:
        """Progress for (N, V, H, W, 3) uint8 frames, in batches of ``batch``. ``start``: the
        episode's first frame (V, H, W, 3), for a model with ``reference_frame``; by default
        ``frames[0]``, right when the frames are a whole episode."""
        self.net.eval()
        size = self.config.image_size
        reference = None
        if self.config.reference_frame and len(frames):
            first = frames[:1] if start is None else np.asarray(start)[None]
            reference = to_tensor(first, size, self.device)
        out = []
        for i in range(0, len(frames), batch):
            images = to_tensor(frames[i : i + batch], size, self.device)
            ref = None if reference is None else reference.expand_as(images)
            out.append(self.net.progress(images, ref))
        return torch.cat(out).cpu().numpy() if out else np.zeros(0, np.float32)

    def progress_episode(self, episode) -> np.ndarray:
        return self.progress(self.frames_of(episode))

    def score(self, frames: np.ndarray) -> np.ndarray:
        return self.progress(frames)

    @torch.no_grad()
    def score_encoded(self, features: np.ndarray, goals: np.ndarray | None = None
                      ) -> np.ndarray:
        """:meth:`score` of frames already :meth:`encode`d (``goals`` unused: one goal)."""
        self.net.eval()
        x = torch.as_tensor(features, device=self.device)
        return self.net.progress_from(x).double().cpu().numpy()
