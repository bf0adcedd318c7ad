"""Refit a pretrained frame encoder's state probe on the states a policy visits.

A frame reward with a pretrained encoder (:mod:`~workbench.rewards.perceptual.pretrain`) sees
the scene only through a linear probe fitted on scattered layouts. A policy trained on such a
reward finds the states where the probe errs in its favour: on PushChoice the vision-language
policies stopped the cube 3-5 cm from the named pad, where the probe read it about 8 mm closer
than it was, though on scattered states it showed no such bias (docs/BENCHMARKS.md, "language
to policy"). The simulator labels every rendered state as it labelled the scattered ones, so
a training run can refit the probe on the frames it renders anyway, beside scattered frames
that keep it reading every layout: DAgger for the perception, the simulator as the expert.

No reward label is used and the heads fitted on the demos stay as they are; only what they see
is read truly where the policy goes. The encoder is frozen, so the refit is a ridge regression
on its features, in closed form, and the frames need not be kept, only their features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

RIDGE = 1.0  # on features in [-1, 1] (the encoder ends in a tanh), beside >= hundreds of rows


class ProbeRefit:
    """The probe of ``net`` (a :class:`~workbench.rewards.perceptual.model.StateReader`),
    refitted on anchor frames (scattered layouts) and the ``keep`` most recent frames added."""

    def __init__(self, net: Any, anchor_features: np.ndarray, anchor_states: np.ndarray,
                 keep: int):
        self.net, self.keep = net, keep
        self.anchor = (np.asarray(anchor_features, np.float32),
                       np.asarray(anchor_states, np.float32))
        self.features = np.zeros((0, self.anchor[0].shape[1]), np.float32)
        self.states = np.zeros((0, self.anchor[1].shape[1]), np.float32)
        self._fresh = 0  # rows added since the last refit: read by a probe not fitted on them

    @classmethod
    def for_model(cls, model: Any, anchors: int, keep: int) -> ProbeRefit:
        """Render ``anchors`` scattered layouts of ``model``'s scene (the first frames its
        pretraining saw) and encode them."""
        from workbench.rewards.perceptual.pretrain import scattered_frames

        if not model.reads_state:
            raise ValueError(f"this {model.family} model reads no state probe (its encoder was "
                             "not pretrained): nothing to refit")
        config = model.frame_config
        frames, states = scattered_frames(model.scene, model.cameras, anchors,
                                          config.image_size, config.seed)
        return cls(model.net, model.encode(frames), states, keep)

    def add(self, features: np.ndarray, states: np.ndarray) -> None:
        """Frames' encoder features and the simulator's seen state of each."""
        self.features = np.concatenate([self.features, features.astype(np.float32)])[-self.keep:]
        self.states = np.concatenate([self.states, states.astype(np.float32)])[-self.keep:]
        self._fresh = min(self._fresh + len(features), len(self.features))

    @torch.no_grad()
    def error(self, features: np.ndarray, states: np.ndarray) -> float:
        """Mean absolute error of the relations the heads see, as the probe reads them (metres
        for lengths)."""
        net = self.net
        device = next(net.parameters()).device
        read = net.relations_of(net.state_from(torch.as_tensor(features, device=device)))
        truth = net.relations_of(torch.as_tensor(states, device=device))
        return float((read - truth).abs().mean()) if len(features) else float("nan")

    @torch.no_grad()
    def refit(self) -> dict[str, float]:
        """Refit the probe; returns its error on the rows added since the last refit, read
        before this one (they are new to it: how well it read where the policy went)."""
        fresh = self._fresh
        record = ({"distill/probe_error": self.error(self.features[-fresh:],
                                                     self.states[-fresh:])} if fresh else {})
        net = self.net
        x = torch.as_tensor(np.concatenate([self.anchor[0], self.features]), dtype=torch.float64)
        s = torch.as_tensor(np.concatenate([self.anchor[1], self.states]), dtype=torch.float64)
        y = (s - net.state_mean.double().cpu()) / net.state_std.double().cpu()
        x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)  # the bias
        penalty = torch.full((x.shape[1],), RIDGE, dtype=x.dtype)
        penalty[-1] = 0.0  # the bias is not shrunk
        solution = torch.linalg.solve(x.T @ x + torch.diag(penalty), x.T @ y)  # (F + 1, D)
        net.probe.weight.copy_(solution[:-1].T.to(net.probe.weight))
        net.probe.bias.copy_(solution[-1].to(net.probe.bias))
        self._fresh = 0
        return record

    # Exact checkpoints: the probe the run has refitted, and the rows it will refit on.
    def get_state(self) -> dict[str, Any]:
        return {"weight": self.net.probe.weight.detach().cpu().clone(),
                "bias": self.net.probe.bias.detach().cpu().clone(),
                "features": self.features, "states": self.states, "fresh": self._fresh}

    @torch.no_grad()
    def set_state(self, state: dict[str, Any]) -> None:
        self.net.probe.weight.copy_(state["weight"])
        self.net.probe.bias.copy_(state["bias"])
        self.features, self.states = state["features"], state["states"]
        self._fresh = int(state["fresh"])
