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

import re
from dataclasses import dataclass, field

import numpy as np

from workbench.rewards.language.encoder import check_sentence, embed
from workbench.task import Task


@dataclass(frozen=True)
class Grounding:
    sentence: str
    scene: str
    colours: dict[str, str | None] = field(default_factory=dict)  # role -> named colour
    unknown_words: tuple[str, ...] = ()  # colour-like words the vocabulary does not know

    def satisfied_by(self, actual: dict[str, str]) -> bool:
        """Do an episode's object colours match every colour the sentence named?"""
        return all(want is None or actual.get(role) == want for role, want in self.colours.items())


def _words(sentence: str) -> list[str]:
    return re.findall(r"[a-z]+", sentence.lower())


def _split_at_relation(words: list[str], relations: tuple[str, ...]) -> int | None:
    """Index of the first word of the first relation phrase (longest phrases first)."""
    phrases = sorted((r.split() for r in relations), key=len, reverse=True)
    for i in range(len(words)):
        for phrase in phrases:
            if words[i : i + len(phrase)] == phrase:
                return i
    return None


def ground(sentence: str, task: type[Task] | Task) -> Grounding:
    """Bind the colours a sentence names to the scene's goal roles.

    Example:
        >>> ground("put the red block on top of the blue one", StackTask).colours
        {'cube': 'red', 'base': 'blue'}
    """
    check_sentence(sentence)
    vocabulary = task.vocabulary
    roles = tuple(getattr(task, "goal_roles", ())) or tuple(vocabulary.objects)[:1]
    words = _words(sentence)
    split = _split_at_relation(words, vocabulary.relations) if len(roles) > 1 else None
    parts = [words] if split is None else [words[:split], words[split:]]
    colours: dict[str, str | None] = dict.fromkeys(roles)
    for role, part in zip(roles, parts, strict=False):
        named = [w for w in part if w in vocabulary.colours]
        if named:
            colours[role] = named[-1]  # "the big red cube": the colour nearest the noun
    return Grounding(sentence, task.name, colours)


def rebind(sentence: str, task: type[Task] | Task, colours: dict[str, str]) -> str:
    """``sentence`` naming ``colours`` (role -> colour) instead of what it names for those
    roles: the sentence of one episode of a goal-conditioned run, where the scene drew the
    choice ("... the blue pad" in an episode that drew the green one -> "... the green pad").
    Roles the sentence names no colour for are left as they are."""
    tokens = [(m.group(0).lower(), m.start(), m.end())
              for m in re.finditer(r"[A-Za-z]+", sentence)]
    words = [t[0] for t in tokens]
    vocabulary = task.vocabulary
    roles = tuple(getattr(task, "goal_roles", ())) or tuple(vocabulary.objects)[:1]
    split = _split_at_relation(words, vocabulary.relations) if len(roles) > 1 else None
    bounds = [(0, len(words))] if split is None else [(0, split), (split, len(words))]
    edits = []
    for role, (lo, hi) in zip(roles, bounds, strict=False):
        at = [i for i in range(lo, hi) if words[i] in vocabulary.colours]
        if at and role in colours and words[at[-1]] != colours[role]:
            edits.append((tokens[at[-1]][1], tokens[at[-1]][2], colours[role]))
    for start, end, colour in sorted(edits, reverse=True):
        sentence = sentence[:start] + colour + sentence[end:]
    return sentence


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


def grounded_rewards(env, episode, grounding: Grounding) -> np.ndarray:
    """Per-step grounded reward of a recorded episode, replayed in ``env`` from its states.

    The scene's reference reward at each recorded state, or 0 where the episode's objects are
    not the ones the sentence named.
    """
    env.reset(seed=episode.meta["seed"])  # the episode's colours and sizes come from its seed
    task = env.task
    matches = grounding.satisfied_by(task.object_colours(env.physics))
    rewards = np.zeros(len(episode), np.float32)
    if not matches:
        return rewards
    for t, state in enumerate(episode["sim_state"]):
        env.restore(state)
        env.physics.forward()
        rewards[t] = task.reference_reward(task.evaluate(env.physics)["terms"])
    return rewards
