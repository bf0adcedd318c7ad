"""Teach the frame encoder where things are before it sees a demonstration.

From one demonstration a CNN learns what that episode looked like, not what progress is: in a
new layout (the cube on the other side, the target higher) its features mean something else.
The simulator can show the scene in thousands of layouts for free: ``Task.scatter`` puts the
hand, the objects and the goal somewhere random after a reset, and the scene's state as its
cameras show it (``env.seen_state_vector()``: joint angles, the hand's and objects'
positions, the vectors between them) labels each rendered frame. The encoder learns to read
that state from the frames (a linear probe on its features); no demonstration and no progress
label is used.

The progress model then sees the frames only through what the encoder reads, as relations:
the length (and unsigned height gap) of each vector between two things (``hand_to_cube``,
``cube_to_tray``) and the one-number features (the gripper's opening, a drawer's travel).
Progress as "the hand closes in on the cube, then the cube on the tray" holds in every
layout, so one demo carries over (in state space, one demo on these relations reaches Spearman
0.97-0.99 on Reach, PickPlace and Stack, on the raw vectors -0.23 to 0.60:
``benchmarks/relational_progress.py``). The encoder is frozen while the
demos are fitted, so one episode cannot unteach it. Measured: docs/BENCHMARKS.md, "Session 7".
"""

from __future__ import annotations

import functools
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from workbench.progress import report
from workbench.rewards.perceptual import encoder_cache
from workbench.rewards.perceptual.config import PerceptualConfig

_CACHE: dict[str, dict[str, torch.Tensor]] = {}  # in this process, over the disk cache


def can_scatter(scene: str) -> bool:
    """Whether ``scene`` can put its state somewhere random (``Task.scatter``)."""
    from workbench.registry import SCENES
    from workbench.task import Task

    return SCENES.load(scene).scatter is not Task.scatter


@functools.cache  # building the env is the cost; a layout never changes
def state_layout(scene: str) -> dict[str, int]:
    """The scene's state as its cameras show it (robot's features, then the task's
    ``seen_features``), name -> size: what a pretrained encoder reads."""
    from workbench.envs import make_env

    env = make_env(scene)
    try:
        return env.seen_features()
    finally:
        env.close()


def relation_slices(layout: dict[str, int]) -> tuple[list[slice], list[int]]:
    """Where the vectors between two things sit in the state (``a_to_b``), and the one-number
    features (the gripper's opening, a drawer's or door's): a single number has no layout to
    change with, so it carries over between layouts as a vector's length does."""
    vectors, scalars, at = [], [], 0
    for name, size in layout.items():
        if "_to_" in name:
            vectors.append(slice(at, at + size))
        elif size == 1:
            scalars.append(at)
        at += size
    if not vectors:
        raise ValueError("a pretrained perceptual encoder needs a scene whose observation has "
                         f"vectors between things (names like hand_to_cube); it has {list(layout)}")
    return vectors, scalars


def relation_names(layout: dict[str, int], heights: bool = True) -> list[str]:
    """What each column of :func:`relations` is, for reports: ``hand_to_cube length``..."""
    names = []
    for name, size in layout.items():
        if "_to_" in name:
            names.append(f"{name} length")
            if heights and size == 3:
                names.append(f"{name} height gap")
    return names + [name for name, size in layout.items() if size == 1 and "_to_" not in name]


def relations(state: torch.Tensor, vectors: list[slice], scalars: list[int],
              heights: bool = True) -> torch.Tensor:
    """(N, D) states in metres -> (N, R): each vector's length (and height gap), then the
    one-number features (the gripper, an opening)."""
    parts = []
    for where in vectors:
        v = state[:, where]
        parts.append(v.norm(dim=1, keepdim=True))
        if heights and v.shape[1] == 3:  # unsigned: above or below, the gap closes alike
            parts.append(v[:, 2:3].abs())
    parts.extend(state[:, i : i + 1] for i in scalars)
    return torch.cat(parts, dim=1)


def scattered_frames(scene: str, cameras: tuple[str, ...], count: int, size: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` frames of scattered states: (N, V, size, size, 3) uint8 and (N, D) states."""
    from workbench.envs import make_env
    from workbench.sim.render import MODEL_FRAMES, CameraRenderer

    if not can_scatter(scene):
        raise ValueError(f"{scene} cannot scatter its state (Task.scatter), so its encoder "
                         "cannot be pretrained: set pretrain=0")
    env = make_env(scene)
    task, physics = env.task, env.physics
    rng = np.random.default_rng(seed)
    frames, states = [], []
    try:
        with CameraRenderer(physics.model, size, size, MODEL_FRAMES) as renderer:
            for i in range(count):
                if i % 32 == 0:
                    report(f"rendering {scene} in random layouts", i, count)
                env.reset(seed=seed * 1_000_003 + i)  # a new layout, colours and goal
                task.scatter(physics, rng)
                frames.append(np.stack([renderer.rgb(physics.data, c) for c in cameras]))
                states.append(env.seen_state_vector())
    finally:
        env.close()
    return np.stack(frames), np.stack(states)


def pretrain_encoder(net, scene: str, config: PerceptualConfig
                     ) -> dict[str, dict[str, float]]:
    """Fit ``net.encoder`` and ``net.probe`` to read the scene's state from scattered frames
    and set ``net``'s state statistics; cached on disk per scene, cameras and settings
    (:mod:`~workbench.rewards.perceptual.encoder_cache`) and in memory, so only the first fit
    pays for it; progress goes to :func:`workbench.progress.report`, which can cancel. Returns
    the probe's held-out mean error of each relation, by name (metres; one-number features in
    their observed units; the last tenth of the frames is held out)."""
    settings = {name: getattr(config, name) for name in _SETTINGS}
    settings["cameras"] = list(config.cameras)
    settings["network"] = {k: list(v.shape) for k, v in net.state_dict().items()
                           if k.split(".")[0] in ("encoder", "probe")}
    if net.encoder.precision is not None:  # float32 encoders keep their cache entries
        settings["precision"] = str(net.encoder.precision)
    key = encoder_cache.entry_key(scene, settings)
    memo = json.dumps([key, str(next(net.parameters()).device)], sort_keys=True)
    if memo not in _CACHE:
        saved = encoder_cache.load(key)
        if saved is None:
            saved = _pretrain(net, scene, config)
            encoder_cache.save(key, saved)
        _CACHE[memo] = saved
    cached = _CACHE[memo]
    net.load_state_dict({k: v for k, v in cached.items() if not k.startswith("_")}, strict=False)
    # The heads' input statistics, and how well the relations are read on held-out frames.
    truth = net.relations_of(cached["_states"])
    net.relation_mean.copy_(truth.mean(0))
    net.relation_std.copy_(truth.std(0).clamp(min=1e-3))
    error = (net.relations_of(cached["_read"]) - truth[-len(cached["_read"]) :]).abs().mean(0)
    names = relation_names(net.layout, net.heights)
    return {"relation_error": {n: round(float(e), 4) for n, e in zip(names, error, strict=True)}}


# Every setting that changes what pretraining produces (the cache key, with the cameras).
_SETTINGS = ("image_size", "channels", "feature_dim", "keypoints", "pretrain", "pretrain_steps",
             "seed", "lr", "weight_decay", "batch_size", "shift", "colour_jitter")


def _pretrain(net, scene: str, config: PerceptualConfig) -> dict[str, torch.Tensor]:
    """Render, fit the encoder and probe on every core, and return what the cache keeps: their
    weights, the state statistics, the states and what the probe read on held-out frames."""
    from workbench.rewards.perceptual.fit import augment
    from workbench.rewards.perceptual.model import to_tensor

    frames, states = scattered_frames(scene, tuple(config.cameras), config.pretrain,
                                      config.image_size, config.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(max(os.cpu_count() or 1, threads))
    try:
        torch.manual_seed(config.seed)
        x = to_tensor(frames, config.image_size, torch.device("cpu"))
        s = torch.as_tensor(states)
        mean, std = s.mean(0), s.std(0)
        std = torch.where(std > 1e-6, std, torch.ones_like(std))  # constant features
        y = (s - mean) / std
        held = max(1, len(x) // 10)
        train = len(x) - held
        device = next(net.parameters()).device
        modules = torch.nn.ModuleList([net.encoder, net.probe])
        optimiser = torch.optim.AdamW(modules.parameters(), lr=config.lr,
                                      weight_decay=config.weight_decay)
        generator = torch.Generator().manual_seed(config.seed)
        modules.train()
        for step in range(config.pretrain_steps):
            if step % 25 == 0:
                report(f"pretraining the {scene} encoder", step, config.pretrain_steps)
            idx = torch.randint(0, train, (config.batch_size,), generator=generator)
            images = augment(x[idx], config.shift, config.colour_jitter, generator).to(device)
            predicted = net.probe(net.encoder(images.flatten(0, 1)).view(len(idx), -1))
            loss = F.mse_loss(predicted, y[idx].to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        modules.eval()
        net.state_mean.copy_(mean)
        net.state_std.copy_(std)
        with torch.no_grad():
            read = net.read_state(x[train:].to(device)).cpu()
    finally:
        torch.set_num_threads(threads)
    weights = {k: v.detach().clone() for k, v in net.state_dict().items()
               if k.split(".")[0] in ("encoder", "probe", "state_mean", "state_std")}
    return {**weights, "_states": s.float(), "_read": read}
