"""Ground a goal sentence in a scene: which of the scene's objects, in which colours, go where.

The scene's :class:`~workbench.task.Vocabulary` gives the words (objects and their synonyms,
colours, relations, places) and its ``goal_roles`` name the object that moves and the one it goes
to. A sentence is split at its relation ("... on top of ..."): colours before it bind the moving
object, colours after it the destination. Sentence embeddings do what word lists cannot: rank
which scene a sentence means (against each scene's description and goal texts) and find the
recorded demonstrations whose goal texts mean the same as a new sentence.

The grounded reward is the scene's own reference reward (its terms and weights), gated by the
binding: an episode whose objects are not the ones named earns nothing. It needs no training,
so it gives a reward the moment a goal is typed; learned language rewards refine it.
"""

from __future__ import annotations

import numpy as np

from workbench.rewards.language.encoder import embed
from workbench.sentences import Grounding
from workbench.task import Task


def rank_scenes(sentence: str, tasks: list[type[Task]]) -> list[tuple[str, float]]:
    """Scenes ordered by how well their descriptions and goal texts match the sentence."""
    texts, owners = [], []
    for task in tasks:
        for text in (task.description, *getattr(task, "goal_examples", ())):
            texts.append(text)
            owners.append(task.name)
    similarity = embed(texts) @ embed([sentence])[0]
    best: dict[str, float] = {}
    for owner, score in zip(owners, similarity, strict=True):
        best[owner] = max(best.get(owner, -1.0), float(score))
    return sorted(best.items(), key=lambda item: -item[1])


def nearest_goals(sentence: str, goals: list[str], k: int = 5) -> list[tuple[str, float]]:
    """The recorded goal texts closest in meaning to ``sentence``, with cosine similarity."""
    if not goals:
        return []
    similarity = embed(goals) @ embed([sentence])[0]
    order = np.argsort(-similarity)[:k]
    return [(goals[i], float(similarity[i])) for i in order]


def has_named_objects(env, row: dict, grounding: Grounding) -> bool:
    """Whether a recorded episode (its workspace row, or ``Episode.meta``) holds the objects
    the sentence names: by the colours stored with it since they were recorded (right where a
    goal chose them, and no reset), else by those a reset from its seed draws."""
    colours = row["meta"].get("colours")
    if not isinstance(colours, dict):
        env.reset(seed=row["seed"])
        colours = env.task.object_colours(env.physics)
    return grounding.satisfied_by(colours)


def grounded_rewards(env, episode, grounding: Grounding) -> np.ndarray:
    """Per-step grounded reward of a recorded episode, replayed in ``env`` from its states.

    The scene's reference reward at each recorded state, or 0 where the episode's objects are
    not the ones the sentence named.
    """
    rewards = np.zeros(len(episode), np.float32)
    if not has_named_objects(env, episode.meta, grounding):
        return rewards
    env.reset(seed=episode.meta["seed"])  # the episode's sizes come from its seed
    task = env.task
    for t, state in enumerate(episode["sim_state"]):
        env.restore(state)
        env.physics.forward()
        rewards[t] = task.reference_reward(task.evaluate(env.physics)["terms"])
    return rewards
