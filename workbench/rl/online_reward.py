"""Preference rewards learned while the policy trains (PrefPPO / PEBBLE style).

The policy's own recent episodes are what gets judged: :class:`OnlinePreference` keeps them
(states, and the env's own per-step reward for a synthetic teacher) through the reward
wrapper's ``on_step`` hook. As a training callback it runs feedback rounds: it samples candidate
segment pairs from those episodes, asks about the ones the current ensemble disagrees on most,
refits the ensemble on every label so far, and installs it in the wrapper, so the next rollout
is scored by the new reward. Labels are spent on a schedule: a first batch after the first
rollout, then evenly until ``spend_by`` of the training budget. With ``labels_per_fit`` the
labels due in a round are asked a few at a time with a refit between, so that only the very
first batch is random (on Pendulum at 12-25 labels this decides whether the reward pays for
height or for stillness; docs/BENCHMARKS.md).

Labels a person gives meanwhile (the Rank panel writes them to the workspace) join each refit
through ``extra_queries``. PPO is on-policy, so nothing stored needs relabelling: the rollout
buffer is refilled after every update with the newest reward; the feedback buffer keeps states,
not rewards, and is scored afresh by each model.

Example:
    >>> online = OnlinePreference("Pendulum", {"observation": 3}, OnlineFeedbackConfig(100))
    >>> envs = LearnedRewardWrapper(envs, None, on_step=online.observe)
    >>> policy = train_ppo(envs, config, callbacks=(online.callback(envs),))
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.config import validated
from workbench.feedback.active import pair_disagreement
from workbench.feedback.teachers import Teacher
from workbench.rewards.base import check_inputs
from workbench.rewards.preference.config import PreferenceConfig
from workbench.rewards.preference.fit import LabelledQuery, fit_preference, preference_accuracy
from workbench.rewards.preference.model import PreferenceRewardModel, check_mirror
from workbench.rl.ppo import TrainProgress
from workbench.rl.reward_wrapper import LearnedRewardWrapper


@dataclass(frozen=True)
@validated
class OnlineFeedbackConfig:
    total_labels: int = field(default=100, metadata={
        "help": "labels asked over the run (0: only labels from elsewhere)", "min": 0,
        "max": 1_000_000})
    first_fraction: float = field(
        default=0.25, metadata={
            "help": "share of the labels asked after the first rollout", "min": 0.0, "max": 1.0})
    spend_by: float = field(
        default=0.5, metadata={
            "help": "fraction of training by which all labels are asked", "gt": 0.0, "max": 1.0})
    feedback_every: int = field(default=4, metadata={
        "help": "updates between feedback rounds", "min": 1})
    segment_length: int = field(default=25, metadata={
        "help": "steps per compared segment", "min": 1, "max": 100_000})
    labels_per_fit: int = field(default=0, metadata={
        "help": "labels asked between refits within a round, each batch chosen by the "
                "ensemble fitted on the ones before (0: all due at once; 3 suits budgets of "
                "tens of labels)", "min": 0})
    candidates_per_label: int = field(
        default=10, metadata={
            "help": "random pairs scored for disagreement per label asked",
            "min": 1, "max": 10_000})
    keep_episodes: int = field(
        default=400, metadata={"help": "recent policy episodes queries are drawn from", "min": 1})
    teacher_scale: float = field(default=0.0, metadata={
        "help": "the segment return a synthetic teacher's skip and equal thresholds are "
                "fractions of (B-Pref: the best possible); 0: the mean over each round's pairs",
                "min": 0.0})
    seed: int = field(default=0, metadata={
        "help": "seed of segment sampling and the teacher", "min": 0, "max": 2**63 - 1})
    preference: PreferenceConfig = field(
        default_factory=lambda: PreferenceConfig(epochs=100, device="cpu"))


@dataclass(frozen=True)
class RecordedSegment:
    states: np.ndarray  # (T, d), the states reached at each step
    rewards: np.ndarray  # (T,), the env's own reward of each step (the synthetic teacher's)


class OnlinePreference:
    """Feedback buffer, query selection, teacher and refits for one training run."""

    def __init__(
        self,
        scene: str,
        features: dict[str, int],
        config: OnlineFeedbackConfig = OnlineFeedbackConfig(),
        teacher: Teacher | None = Teacher(),
        extra_queries: Callable[[], Sequence[LabelledQuery]] | None = None,
    ):
        if teacher is None and extra_queries is None:
            raise ValueError("online reward learning needs a teacher or a source of labels")
        check_inputs(features, config.preference.inputs)  # before training, not at its
        check_mirror(config.preference, sum(features.values()))  # first labels
        self.scene, self.features, self.config = scene, features, config
        self.teacher, self.extra_queries = teacher, extra_queries
        self.rng = np.random.default_rng(config.seed)
        self.episodes: deque[RecordedSegment] = deque(maxlen=config.keep_episodes)
        self.queries: list[LabelledQuery] = []
        self.model: PreferenceRewardModel | None = None
        self._running: list[tuple[list[np.ndarray], list[float]]] = []
        self._extra_count = 0
        self.rounds = 0  # feedback rounds run so far

    # -- checkpoints (a resumed run keeps its synthetic labels and feedback buffer) ----------
    def get_state(self) -> dict[str, Any]:
        return {
            "rng": self.rng.bit_generator.state,
            "episodes": [[e.states, e.rewards] for e in self.episodes],
            "running": [[states, steps] for states, steps in self._running],
            "queries": [[list(q.segments), q.answer, q.kind] for q in self.queries],
            "model": None if self.model is None else self.model.get_state(),
            "extra_count": self._extra_count, "rounds": self.rounds,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.episodes = deque((RecordedSegment(s, r) for s, r in state["episodes"]),
                              maxlen=self.config.keep_episodes)
        self._running = [(list(states), list(steps)) for states, steps in state["running"]]
        self.queries = [LabelledQuery(tuple(segments), answer, kind)
                        for segments, answer, kind in state["queries"]]
        self.model = None if state["model"] is None else PreferenceRewardModel.from_state(
            state["model"], device=self.config.preference.device)
        self._extra_count, self.rounds = int(state["extra_count"]), int(state["rounds"])

    # -- the wrapper's on_step hook ---------------------------------------------------------
    def observe(self, next_states: np.ndarray, rewards: np.ndarray, ended: np.ndarray) -> None:
        if not self._running:
            self._running = [([], []) for _ in range(len(next_states))]
        for i, (states, steps) in enumerate(self._running):
            states.append(np.asarray(next_states[i], np.float32))
            steps.append(float(rewards[i]))
            if ended[i]:
                if len(states) >= self.config.segment_length:
                    self.episodes.append(RecordedSegment(np.stack(states), np.array(steps)))
                self._running[i] = ([], [])

    # -- queries ------------------------------------------------------------------------------
    def _random_segment(self) -> RecordedSegment:
        episode = self.episodes[int(self.rng.integers(len(self.episodes)))]
        length = self.config.segment_length
        start = int(self.rng.integers(0, len(episode.states) - length + 1))
        return RecordedSegment(episode.states[start : start + length],
                               episode.rewards[start : start + length])

    def select_pairs(self, count: int) -> list[tuple[RecordedSegment, RecordedSegment]]:
        """``count`` pairs: the most disputed of ``candidates_per_label * count`` random ones
        by the current ensemble (random ones before the first model)."""
        if len(self.episodes) < 2:
            return []
        pool = count if self.model is None else count * self.config.candidates_per_label
        pairs = [(self._random_segment(), self._random_segment()) for _ in range(pool)]
        if self.model is None:
            return pairs
        scores = pair_disagreement(self.model, [(a.states, b.states) for a, b in pairs])
        return [pairs[i] for i in np.argsort(-scores)[:count]]

    def ask(self, count: int) -> list[LabelledQuery]:
        """Pose ``count`` queries to the synthetic teacher; returns the answered ones."""
        if self.teacher is None:
            return []
        pairs = self.select_pairs(count)
        if not pairs:
            return []
        scale = self.config.teacher_scale or float(
            np.mean([abs(s.rewards.sum()) for pair in pairs for s in pair])) or 1.0
        answered = []
        for left, right in pairs:
            answer = self.teacher.answer(left.rewards, right.rewards, self.rng, scale)
            answered.append(LabelledQuery((left.states, right.states), answer))
        return answered

    def labels_due(self, step: int, total_steps: int) -> int:
        """Labels the schedule has asked for by ``step`` (cumulative)."""
        c = self.config
        first = math.ceil(c.total_labels * c.first_fraction)
        horizon = max(c.spend_by * total_steps, 1.0)
        return min(c.total_labels,
                   first + math.floor((c.total_labels - first) * min(step / horizon, 1.0)))

    # -- feedback rounds ---------------------------------------------------------------------
    def feedback_round(self, step: int, total_steps: int) -> dict[str, float]:
        """Ask the labels now due, take in new outside labels, refit if anything came in.

        The labels due are asked ``labels_per_fit`` at a time with a refit between, so each
        batch goes where the ensemble fitted on the ones before it disagrees (active learning
        one batch at a time; the first batch of a run, with no model yet, is random)."""
        outside = list(self.extra_queries()) if self.extra_queries is not None else []
        changed = len(outside) != self._extra_count  # labels added (or some deleted)
        fresh_outside = outside[self._extra_count :]
        self._extra_count = len(outside)
        before = self.model
        due = max(self.labels_due(step, total_steps) - len(self.queries), 0)
        new: list[LabelledQuery] = []
        while due > 0:
            asked = self.ask(min(due, self.config.labels_per_fit or due))
            if not asked:
                break
            new += asked
            due -= len(asked)
            self.queries += asked
            if due > 0:
                self._refit(outside)
        incoming = new + fresh_outside
        if not incoming and not changed:
            return {}
        record: dict[str, float] = {}
        strict = [q for q in incoming if q.answer in ("left", "right")]
        if before is not None and strict:
            # How often the last round's reward already agreed: falls as the reward converges.
            record["feedback/agreement_before_refit"] = preference_accuracy(before, strict)
        self._refit(outside)
        record["feedback/labels"] = float(len(self.queries) + len(outside))
        return record

    def _refit(self, outside: list[LabelledQuery]) -> None:
        self.model = fit_preference([*self.queries, *outside], self.scene, self.features,
                                    self.config.preference)

    def callback(
        self, wrapper: LearnedRewardWrapper,
        before_round: Callable[[TrainProgress, int], None] | None = None,
    ) -> FeedbackCallback:
        """A PPO callback: a feedback round after the first update and every
        ``feedback_every`` updates; the refitted model goes into ``wrapper``.
        ``before_round(progress, round_index)`` runs first (a run records the policy's clips
        for the Rank panel there)."""
        return FeedbackCallback(self, wrapper, before_round)


class FeedbackCallback:
    """The training callback of an :class:`OnlinePreference`; stateful, so an exact checkpoint
    carries the learner (its labels, feedback buffer and model) and a resumed run goes on with
    them."""

    def __init__(self, learner: OnlinePreference, wrapper: LearnedRewardWrapper,
                 before_round: Callable[[TrainProgress, int], None] | None = None):
        self.learner, self.wrapper, self.before_round = learner, wrapper, before_round

    def __call__(self, progress: TrainProgress) -> None:
        learner = self.learner
        if progress.update != 1 and progress.update % learner.config.feedback_every:
            return
        if self.before_round is not None:
            self.before_round(progress, learner.rounds)
        learner.rounds += 1
        record = learner.feedback_round(progress.step, progress.total_steps)
        if "feedback/labels" in record:
            self.wrapper.set_model(learner.model)
        progress.extras.update(record)

    def get_state(self) -> dict[str, Any]:
        return self.learner.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        self.learner.set_state(state)
        if self.learner.model is not None:
            self.wrapper.set_model(self.learner.model)
