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

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from workbench.rewards.artifact import pick_device

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
        tokens = self.tokenizer(sentences, padding=True, return_tensors="pt").to(self.device)
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
