"""Looking inside a learned reward: where it is highest and lowest, and whether new labels
would still change it.

Both answer questions a person asks before trusting a reward with a policy: "what does it
like?" (a reward that likes the wrong thing shows it in its best segments long before a policy
exploits it) and "is it worth ranking more?" (labels the current model already predicts add
little; labels it gets wrong are the ones a refit learns from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.data.segments import Segment
from workbench.data.workspace import Workspace
from workbench.rewards.families import RewardModel
from workbench.rewards.metrics import episode_progress


def reward_along(model: RewardModel, episode) -> np.ndarray:
    """The model's per-frame reward on a recorded episode (progress, perceptual or preference
    reward; a perceptual model's frames are rendered from the states when not recorded)."""
    if model.cameras:
        from workbench.envs.replay import with_frames

        size = model.frame_config.image_size  # type: ignore[attr-defined]  # frame models
        episode = with_frames(episode, model.cameras, size)
    return np.asarray(episode_progress(model, episode), np.float64)


def reads(model: RewardModel, row: dict[str, Any]) -> bool:
    """Whether ``model`` can score the episode of workspace row ``row``: a reward over states
    reads the takes of the robot whose observations it was fitted on (a scene may hold takes
    of several); one over camera frames reads any."""
    fitted_on = getattr(model, "features", None)
    recorded = row["meta"].get("features")
    return bool(model.cameras) or not (fitted_on and recorded) or recorded == fitted_on


@dataclass(frozen=True)
class ScoredSegment:
    segment: Segment
    mean_reward: float


def extreme_segments(
    model: Any, workspace: Workspace, scene: str, length: int = 20, count: int = 3,
    stride: int | None = None,
) -> tuple[list[ScoredSegment], list[ScoredSegment]]:
    """The ``count`` windows of ``length`` frames with the highest and the lowest mean learned
    reward over every saved episode of ``scene`` it reads (at most one window per episode on
    each side, so one long episode cannot fill the list)."""
    stride = stride or max(1, length // 2)
    best: list[ScoredSegment] = []
    for row in workspace.episodes(scene=scene):
        if row["num_steps"] < 2 or not reads(model, row):
            continue
        rewards = reward_along(model, workspace.load_episode(row["id"]))
        span = min(length, len(rewards))
        window = np.convolve(rewards, np.ones(span) / span, mode="valid")[::stride]
        for pick in (int(np.argmax(window)), int(np.argmin(window))):
            start = pick * stride
            best.append(ScoredSegment(Segment(row["id"], start, start + span),
                                      float(window[pick])))
    if not best:
        raise ValueError(f"no recorded episodes of {scene} to score; record some first")
    ranked = sorted(best, key=lambda s: s.mean_reward)
    top = _one_per_episode(reversed(ranked), count)
    bottom = _one_per_episode(ranked, count)
    return top, bottom


def _one_per_episode(scored, count: int) -> list[ScoredSegment]:
    seen, out = set(), []
    for item in scored:
        if item.segment.episode_id not in seen:
            seen.add(item.segment.episode_id)
            out.append(item)
        if len(out) == count:
            break
    return out


@dataclass(frozen=True)
class LabelImpact:
    total: int  # pair labels of the scene
    since_fit: int  # given after the current model was fitted
    disagreed: int  # of those, how many the current model predicts the other way

    @property
    def summary(self) -> str:
        if self.since_fit == 0:
            return f"{self.total} labels, all used by the current reward"
        share = self.disagreed / self.since_fit
        verdict = ("the reward would still change: refit" if share >= 0.2
                   else "the reward already agrees: more labels change it little")
        return (f"{self.total} labels; {self.since_fit} since the last fit, of which the reward "
                f"predicts {self.disagreed} the other way ({share:.0%}): {verdict}")


def label_impact(model: Any, fitted_at: float, workspace: Workspace,
                 episode_ids: set[int]) -> LabelImpact:
    """How many of the pair labels given after ``fitted_at`` the model gets wrong ("equal" and
    "skip" answers are not predictions and do not count as new information here)."""
    labels = [p for p in workspace.preferences()
              if p.kind == "pair" and all(s[0] in episode_ids for s in p.segments)]
    new = [p for p in labels if p.created > fitted_at and p.answer in ("left", "right")]
    disagreed = 0
    episodes: dict[int, Any] = {}
    for pref in new:
        returns = []
        for episode_id, start, end in pref.segments:
            if episode_id not in episodes:
                episodes[episode_id] = reward_along(model, workspace.load_episode(episode_id))
            returns.append(episodes[episode_id][start:end].sum())
        predicted = "left" if returns[0] > returns[1] else "right"
        disagreed += predicted != pref.answer
    return LabelImpact(len(labels), len(new), disagreed)
