"""What the person judges and says in the live scene: pairs and rankings of clips to label
(the most disputed first once a preference reward exists), continuations of a recorded frame to
compare, and goal sentences."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.data.segments import Segment, SegmentCache
from workbench.feedback.active import select_queries
from workbench.feedback.branching import branch_episodes
from workbench.feedback.sampling import sample_group, sample_pair
from workbench.feedback.teachers import TEACHERS
from workbench.operations.rewards import SaveGoal
from workbench.rewards.inspect import label_impact, reads
from workbench.session.context import Context
from workbench.session.events import Branched, EpisodesChanged, GoalsChanged, LabelsChanged
from workbench.session.live import LiveScene
from workbench.session.reward_models import RewardModels

__all__ = ["Feedback", "Segment"]  # Segment: the clips it hands out, for its views


class Feedback:
    def __init__(self, context: Context, rewards: RewardModels, live: LiveScene):
        self.context, self.rewards, self.live = context, rewards, live
        self.rng = np.random.default_rng()

    @staticmethod
    def teachers() -> list[str]:
        """The synthetic teachers (B-Pref) that can answer queries: ``JobBoard.teach``."""
        return list(TEACHERS)

    # -- clips to rank -----------------------------------------------------------------------
    def next_pair(self, length: int = 20, candidates: int = 12) -> tuple[Segment, Segment]:
        """The next pair to rank, both clips of one robot's takes. Once a preference ensemble
        exists for the scene, the most disputed of ``candidates`` sampled pairs of the takes it
        reads (active learning); before that, a random one of the live robot's takes."""
        workspace, scene = self.context.workspace, self.context.scene
        model = self.rewards.preference()
        if model is None:  # the live robot's takes where it has them
            return sample_pair(workspace, scene, length, self.rng, self.live.env.features)
        pool = [sample_pair(workspace, scene, length, self.rng, model.features)
                for _ in range(candidates)]
        rows = {row["id"]: row for row in self.context.episodes()}
        pool = [pair for pair in pool if all(reads(model, rows[s.episode_id]) for s in pair)]
        if not pool:  # the model's robot has too few takes left here: not one it could judge
            return sample_pair(workspace, scene, length, self.rng, self.live.env.features)
        return select_queries(model, pool, SegmentCache(workspace).states, 1)[0]

    def answer_pair(self, pair: tuple[Segment, Segment], answer: str) -> int:
        label = self.context.workspace.add_preference(list(pair), answer, teacher="user")
        self._labelled()
        return label

    def next_group(self, count: int = 4, length: int = 20) -> list[Segment]:
        """``count`` clips to rank best to worst (a Plackett-Luce query)."""
        return sample_group(self.context.workspace, self.context.scene, count, length, self.rng,
                            self.live.env.features)

    def answer_ranking(self, segments: list[Segment], order: list[int]) -> int:
        """Store a ranking: ``order`` lists indices into ``segments``, best first."""
        label = self.context.workspace.add_preference(
            list(segments), list(order), kind="ranking", teacher="user")
        self._labelled()
        return label

    def label_count(self) -> int:
        return len(self.context.workspace.preferences())

    def _labelled(self) -> None:
        self.context.events.publish(LabelsChanged(self.label_count()))

    def branch_pair(self, episode_id: int, t: int, length: int = 25,
                    noise: float = 0.5) -> tuple[Segment, Segment]:
        """Two continuations of frame ``t`` of an episode, saved as episodes, as a pair to rank.
        They follow the training preview policy when there is one, else the recorded actions,
        each with its own action noise."""
        policy = None
        if self.live.preview_policy is not None:
            preview = self.live.preview_policy
            policy = lambda env, obs: preview.act(obs)  # noqa: E731
        first, second = branch_episodes(self.context.workspace, episode_id, t, length, 2,
                                        noise, policy, seed=int(self.rng.integers(1 << 31)))
        self.context.events.publish(EpisodesChanged())
        self.context.events.publish(Branched((first, second)))
        return first, second

    def label_impact(self) -> Any:
        """How the labels given since the newest preference reward was fitted compare with what
        it predicts (see :func:`workbench.rewards.inspect.label_impact`), or None."""
        model = self.rewards.preference()
        if model is None:
            return None
        fitted = [m for m in self.rewards.stored() if m["family"] == "preference"][-1]
        ids = {row["id"] for row in self.context.episodes() if reads(model, row)}
        return label_impact(model, fitted["created"], self.context.workspace, ids)

    # -- goal sentences ----------------------------------------------------------------------
    def add_goal(self, text: str, baseline: str | None = None) -> int:
        saved = self.context.perform(SaveGoal(
            scene=self.context.scene, goal=text, baseline=baseline or "",
            workspace=self.context.workspace.root))
        self.context.events.publish(GoalsChanged())
        return int(saved["goal_id"])

    def goals(self) -> list[dict[str, Any]]:
        return self.context.workspace.goals(self.context.scene)

    def vocabulary(self) -> Any:
        """The live scene's words (objects, colours, relations) for goal sentences."""
        return self.live.env.task.vocabulary
