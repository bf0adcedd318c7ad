"""Train on a reward over camera frames without rendering every step: a state student.

Rendering is what a frame reward costs on a CPU (two 64x64 views are about 20 ms a step under
Mesa, against under 1 ms for the physics), and the frame reward is a function of the state the
frames show. So, as the policy trains, a small MLP over the policy's own observation (the
*student*) is fitted to the frame reward (the *teacher*) on states the policy actually visits,
and scores every step; only ``render_fraction`` of the steps are rendered and scored by the
teacher, to give it labels. After each update the states rendered during it, which the student
has not been fitted on, measure how well the two agree (Spearman, pooled over the last few
updates); below ``min_agreement`` the next update renders and scores every step with the
teacher (direct), and distillation resumes once the refitted student agrees again. The first
updates are direct: a student needs labels.

A goal-conditioned teacher scores each episode towards its own sentence, which the observation
need not tell apart (PushChoice observes the named pad's position, not its colour, and a
teacher may score "green" and "blue" a little differently for the same layout): the student
then also reads a code of the sentence, a fixed random +-1 vector per sentence (seeded by its
text, so a resumed run and a new one agree; the run's few sentences need only be told apart).

Where the teacher reads the scene's state from frames through a pretrained probe
(``refit_probe``), the probe is refitted after each update on the rendered states, which the
simulator labels (:mod:`workbench.rewards.perceptual.reader`), and the student's labels are
scored again by the refitted teacher: the run keeps the encoder features of what it rendered,
not the frames.

Everything here (the student's weights, its labels, the generator that picks what to render,
the mode) is state of the vector wrapper, so exact checkpoints carry it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from workbench.config import ConfigError, validated
from workbench.envs.env import box
from workbench.rewards.metrics import spearmanr
from workbench.rewards.perceptual.reader import ProbeRefit
from workbench.rl.ppo import TrainProgress
from workbench.rl.reward_wrapper import (
    LearnedRewardWrapper,
    goal_array,
    goal_list,
    reached_rows,
    score_frames,
)


@dataclass(frozen=True)
@validated
class DistillConfig:
    render_fraction: float = field(default=0.05, metadata={
        "help": "share of steps rendered for the frame reward while the student scores",
        "gt": 0.0, "max": 1.0})
    min_agreement: float = field(default=0.8, metadata={
        "help": "Spearman of student and frame reward on fresh states below which the next "
                "update scores every step with the frame reward", "min": -1.0, "max": 1.0})
    agreement_updates: int = field(default=4, metadata={
        "help": "updates whose fresh states the agreement pools (fewer: noisier)", "min": 1})
    labels: int = field(default=50_000, metadata={
        "help": "most recent rendered states the student is fitted on", "min": 16})
    fit_steps: int = field(default=100, metadata={
        "help": "gradient steps per refit (after each update)", "min": 1})
    hidden: int = field(default=128, metadata={"help": "student MLP width", "min": 1})
    seed: int = field(default=0, metadata={"help": "student init and sampling", "min": 0})
    refit_probe: str = field(default="auto", metadata={
        "help": "refit the frame reward's state probe (a pretrained encoder's read-out) after "
                "each update on the rendered states, labelled by the simulator, so the policy "
                "cannot exploit where it misreads; 'auto': for goal-conditioned rewards",
        "choices": ("auto", "on", "off")})
    probe_frames: int = field(default=20_000, metadata={
        "help": "most recent rendered frames the probe is refitted on", "min": 16})
    probe_anchors: int = field(default=800, metadata={
        "help": "scattered layouts rendered at the start, which the refitted probe keeps "
                "reading", "min": 16})


GOAL_CODE = 16  # length of a sentence's code in a goal-conditioned student's input


@cache
def sentence_code(sentence: str) -> np.ndarray:
    """A fixed random +-1 vector for ``sentence`` (two sentences' codes are near-orthogonal)."""
    seed = int.from_bytes(hashlib.sha256(sentence.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).choice([-1.0, 1.0], GOAL_CODE)


def goal_codes(goals: np.ndarray | None, rows: int) -> np.ndarray:
    """(rows, GOAL_CODE): each row's sentence code, zeros where a row has none."""
    codes = np.zeros((rows, GOAL_CODE))
    for i, goal in enumerate([] if goals is None else goals):
        if goal:
            codes[i] = sentence_code(str(goal))
    return codes


class StateStudent:
    """An MLP from observations to the teacher's score; inputs and targets are standardised by
    its labels (a frame reward may have any scale)."""

    def __init__(self, obs_dim: int, hidden: int, seed: int):
        generator = torch.Generator().manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.SiLU(),
                                 nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        with torch.no_grad():  # an init of its own, not drawn from the run's torch generator
            for p in self.net.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * (p.shape[-1] ** -0.5))
        self.mean = np.zeros(obs_dim)
        self.std = np.ones(obs_dim)
        self.target_mean, self.target_std = 0.0, 1.0
        self.fitted = False

    def score(self, states: np.ndarray) -> np.ndarray:
        x = torch.as_tensor((states - self.mean) / self.std, dtype=torch.float32)
        with torch.no_grad():
            out = self.net(x)[:, 0].double().numpy()
        return out * self.target_std + self.target_mean

    def fit(self, states: np.ndarray, targets: np.ndarray, steps: int,
            rng: np.random.Generator) -> float:
        """Continue fitting on (states, targets); returns the last minibatch's MSE (in
        standard units of the targets)."""
        self.mean, self.std = states.mean(0), states.std(0) + 1e-6
        self.target_mean, self.target_std = float(targets.mean()), float(targets.std()) + 1e-8
        x = torch.as_tensor((states - self.mean) / self.std, dtype=torch.float32)
        y = torch.as_tensor((targets - self.target_mean) / self.target_std, dtype=torch.float32)
        optimiser = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        loss = torch.zeros(())
        for _ in range(steps):
            batch = torch.as_tensor(rng.integers(0, len(x), min(256, len(x))))
            loss = nn.functional.mse_loss(self.net(x[batch])[:, 0], y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.fitted = True
        return loss.item()

    def get_state(self) -> dict[str, Any]:
        return {"weights": {k: v.clone() for k, v in self.net.state_dict().items()},
                "mean": self.mean, "std": self.std, "fitted": self.fitted,
                "target": (self.target_mean, self.target_std)}

    def set_state(self, state: dict[str, Any]) -> None:
        inputs = self.net[0].in_features
        if len(state["mean"]) != inputs:  # saved before the student read the sentence
            raise ValueError(f"the checkpoint's state student reads {len(state['mean'])} "
                             f"inputs, this version's {inputs}: train the run again rather "
                             "than resuming it")
        self.net.load_state_dict(state["weights"])
        self.mean, self.std, self.fitted = state["mean"], state["std"], bool(state["fitted"])
        self.target_mean, self.target_std = (float(v) for v in state["target"])


@runtime_checkable
class ReachesSubEnvs(Protocol):
    """A vector env that sets and calls into each of its sub-envs (SyncVectorEnv,
    AsyncVectorEnv, workbench.rl.ray_rollouts.RayVectorEnv)."""

    def set_attr(self, name: str, values: Any) -> None: ...

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]: ...


class DistilledFrameReward(LearnedRewardWrapper):
    """A frame reward (``model.cameras``) over envs wrapped in ``RenderedFrames``, scored by a
    state student where it agrees with the model. Install :meth:`callback` in the PPO run:
    it refits the student after each update and chooses the next update's mode."""

    def __init__(self, env: gym.vector.VectorEnv, model: Any, transform: str = "progress",
                 gamma: float = 0.99, config: DistillConfig = DistillConfig()):
        if not getattr(model, "cameras", ()):
            raise ValueError("distillation is for rewards over camera frames")
        if isinstance(env, gym.vector.VectorWrapper) or not isinstance(env, ReachesSubEnvs):
            raise TypeError("distillation tells each sub-env when to render: wrap the vector "
                            "env itself (Sync, Async, or RayVectorEnv)")
        self.vector: ReachesSubEnvs = env
        self.config = config
        self.goal_aware = bool(getattr(model, "goal_conditioned", False))
        self.student = StateStudent(
            int(np.prod(box(env.single_observation_space).shape))
            + (GOAL_CODE if self.goal_aware else 0), config.hidden, config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.direct = True
        self.agreement = float("nan")
        self._compared: list[tuple[np.ndarray, np.ndarray]] = []  # (student, teacher) recent
        self._labels = np.zeros((0, self.student.mean.size))
        self._targets = np.zeros(0)
        self._pending: list[tuple[Any, ...]] = []  # (inputs, frames, goals, seen) to score
        reads_state = bool(getattr(model, "reads_state", False))
        if config.refit_probe == "on" and not reads_state:
            raise ConfigError("distill.refit_probe: 'on' needs a frame reward that reads the "
                              "state through a pretrained probe (fitted with pretrain > 0); "
                              "this one does not: use 'auto' or 'off'")
        refit = config.refit_probe == "on" or (config.refit_probe == "auto" and self.goal_aware
                                               and reads_state)
        self.probe = (ProbeRefit.for_model(model, config.probe_anchors, config.probe_frames)
                      if refit else None)
        if self.probe is not None:  # the envs say what state each rendered frame shows
            self.vector.set_attr("label_states", True)
        # With a probe: each label's encoder features and sentence, to score it again.
        self._encoded: list[tuple[np.ndarray, np.ndarray | None]] = []
        self._label_features = np.zeros((0, 0), np.float32)
        self._label_goals: np.ndarray | None = None
        self._fresh: list[tuple[np.ndarray, np.ndarray]] = []  # (inputs, teacher scores)
        self._steps = self._rendered = 0
        super().__init__(env, model, transform, gamma)

    def _score(self, states: np.ndarray, frames: np.ndarray | None,
               goals: np.ndarray | None = None) -> np.ndarray:
        if self.direct:
            return super()._score(states, frames, goals)
        return self.student.score(self._inputs(states, goals))

    def _inputs(self, states: np.ndarray, goals: np.ndarray | None) -> np.ndarray:
        """The student's input: the observation, and the sentence's code where the teacher
        is goal-conditioned."""
        if not self.goal_aware:
            return states
        return np.concatenate([states, goal_codes(goals, len(states))], axis=1)

    def step(self, actions: np.ndarray):
        n = self.num_envs
        render = (np.ones(n, bool) if self.direct
                  else self.rng.random(n) < self.config.render_fraction)
        self.vector.set_attr("render_next", [bool(r) for r in render])
        obs, reward, terminated, truncated, info = super().step(actions)
        self._steps += n
        self._rendered += int(render.sum())
        if render.any():
            states, frames, goals = self._reached  # what the base step scored
            goals = None if goals is None else goals[render]
            inputs = self._inputs(states[render], goals)
            if self.probe is not None:  # encoded at the refit, and labels the probe
                seen = reached_rows(info, "seen_state", info.get("_final_obs"))
                assert seen is not None, "RenderedFrames adds the seen state to each frame"
                self._pending.append((inputs, frames[render], goals, seen[render]))
            elif self.direct:  # scored already: the teacher's scores are the labels
                self._fresh.append((inputs, info["learned_score"][render]))
            else:  # scored in one batch at the next refit
                self._pending.append((inputs, frames[render], goals, None))
        return obs, reward, terminated, truncated, info

    def refit(self) -> dict[str, float]:
        """Score what was rendered, measure agreement on it, refit, choose the next mode."""
        record = {"distill/rendered": self._rendered / max(self._steps, 1)}
        if self._pending:
            record.update(self._score_pending())
        self._pending, self._steps, self._rendered = [], 0, 0
        if not self._fresh:
            return record
        states = np.concatenate([s for s, _ in self._fresh])
        scores = np.concatenate([t for _, t in self._fresh])
        self._fresh = []
        if self.student.fitted:  # fresh: the student has not been fitted on these states
            self._compared = [*self._compared, (self.student.score(states), scores)][
                -self.config.agreement_updates:]
            student, teacher = (np.concatenate(x) for x in zip(*self._compared, strict=True))
            if len(teacher) > 2 and np.ptp(teacher) > 0 and np.ptp(student) > 0:
                self.agreement = spearmanr(student, teacher)
                record["distill/agreement"] = self.agreement
        keep = self.config.labels
        self._labels = np.concatenate([self._labels, states])[-keep:]
        self._targets = np.concatenate([self._targets, scores])[-keep:]
        if self.probe is not None:
            self._rescore_labels()
        record["distill/student_mse"] = self.student.fit(self._labels, self._targets,
                                                         self.config.fit_steps, self.rng)
        direct = not self.agreement >= self.config.min_agreement  # nan (unmeasured): direct
        switched, self.direct = direct != self.direct, direct
        if switched or not direct or self.probe is not None:  # a new or refitted scorer
            self._rescore_current()
        record["distill/direct"] = float(self.direct)
        record["distill/labels"] = float(len(self._targets))
        return record

    def _score_pending(self) -> dict[str, float]:
        """The teacher's scores of the rendered states, in one batch (after refitting the
        probe on them, where the run refits it): fresh labels."""
        inputs, frames, goals, seen = zip(*self._pending, strict=True)
        batch = np.concatenate(frames)
        named = None if goals[0] is None else np.concatenate(goals)
        if self.probe is None:
            self._fresh.append((np.concatenate(inputs), score_frames(self.model, batch, named)))
            return {}
        features = self.model.encode(batch)
        self.probe.add(features, np.concatenate(seen))
        record = self.probe.refit()
        named = named if self.goal_aware else None
        self._fresh.append((np.concatenate(inputs), self.model.score_encoded(features, named)))
        self._encoded.append((features, named))
        return record

    def _rescore_labels(self) -> None:
        """Keep the new labels' encoder features (and sentences) and score every label again
        with the refitted teacher."""
        keep = self.config.labels
        features = [f for f, _ in self._encoded]
        if len(self._label_features):
            features.insert(0, self._label_features)
        self._label_features = np.concatenate(features)[-keep:]
        if self.goal_aware:
            goals = [g for _, g in self._encoded if g is not None]
            if self._label_goals is not None:
                goals.insert(0, self._label_goals)
            self._label_goals = np.concatenate(goals)[-keep:]
        self._encoded = []
        self._targets = self.model.score_encoded(self._label_features, self._label_goals)

    def _rescore_current(self) -> None:
        """The potential of the states the envs are in, from the scorer now in charge."""
        if self._obs is None:
            return
        if self.direct:
            self._frames = np.stack(self.vector.call("frames"))
            goals = self.vector.call("goal")
            self._goals = None if goals[0] is None else np.array(goals, dtype=object)
        self._phi = self._score(self._obs, self._frames, self._goals)

    def callback(self) -> DistillCallback:
        return DistillCallback(self)

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "student": self.student.get_state(),
                "rng": self.rng.bit_generator.state, "direct": self.direct,
                "agreement": self.agreement, "labels": self._labels, "targets": self._targets,
                "pending": [(s, f, goal_list(g), seen) for s, f, g, seen in self._pending],
                "fresh": self._fresh, "compared": self._compared,
                "counts": (self._steps, self._rendered),
                "probe": None if self.probe is None else self.probe.get_state(),
                "label_features": self._label_features,
                "label_goals": goal_list(self._label_goals)}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.student.set_state(state["student"])
        self.rng.bit_generator.state = state["rng"]
        self.direct, self.agreement = bool(state["direct"]), float(state["agreement"])
        self._labels, self._targets = state["labels"], state["targets"]
        # (Checkpoints from before the probe refit kept no seen states.)
        self._pending = [(s, f, goal_array(g), *(seen or [None]))
                         for s, f, g, *seen in state["pending"]]
        self._fresh = [tuple(f) for f in state["fresh"]]
        self._compared = [tuple(c) for c in state["compared"]]
        self._steps, self._rendered = (int(c) for c in state["counts"])
        if self.probe is not None:
            self.probe.set_state(state["probe"])
        self._label_features = state.get("label_features", np.zeros((0, 0), np.float32))
        self._label_goals = goal_array(state.get("label_goals"))


class DistillCallback:
    """After each PPO update: refit the student and log how well it agrees (run extras)."""

    def __init__(self, wrapper: DistilledFrameReward):
        self.wrapper = wrapper

    def __call__(self, progress: TrainProgress) -> None:
        progress.extras.update(self.wrapper.refit())
