"""Goal sentences in a scene's words: checked, bound to the scene's goal roles, re-worded.

The scene's :class:`~workbench.task.Vocabulary` gives the words (objects and their synonyms,
colours, relations, places) and its ``goal_roles`` name the object that moves and the one it
goes to. A sentence is split at its relation ("... on top of ..."): colours before it bind the
moving object, colours after it the destination. Plain text and the vocabulary only, so that
envs, rewards and front ends can all use it; sentence embeddings live with the language
rewards (:mod:`workbench.rewards.language`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workbench.task import Task


def check_sentence(sentence: str) -> str:
    """A goal sentence or a clear ValueError: text with words, valid Unicode, not a book."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError("the goal sentence is empty: say what the robot should do")
    try:
        sentence.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the goal sentence has characters that are not valid Unicode "
                         "(a lone surrogate?); type it again") from None
    if len(sentence) > 1000:
        raise ValueError(f"the goal sentence has {len(sentence)} characters; keep it under "
                         "1000")
    return sentence


# Colour words in any scene's sentences: one the scene's vocabulary lacks names a colour the
# scene cannot show ("the purple cube" where cubes are red, blue or yellow), not a word to skip.
COLOUR_WORDS = frozenset({"red", "green", "blue", "yellow", "orange", "purple", "violet", "pink",
                          "black", "white", "grey", "gray", "brown", "cyan", "magenta"})
# Relation words that say where, not what: alone they name nothing of a scene ("push the cube
# to the pad" says nothing of Reach), where a scene's verbs do ("run forward", "open it").
PREPOSITIONS = frozenset({"to", "towards", "toward", "onto", "into", "in", "inside", "on",
                          "above", "out", "of", "top"})


@dataclass(frozen=True)
class Grounding:
    sentence: str
    scene: str
    colours: dict[str, str | None] = field(default_factory=dict)  # role -> named colour
    unknown_words: tuple[str, ...] = ()  # colour words the scene's vocabulary does not know

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
    unknown = tuple(dict.fromkeys(w for w in words if w in COLOUR_WORDS
                                  and w not in vocabulary.colours))
    return Grounding(sentence, task.name, colours, unknown)


def checked_ground(sentence: str, task: type[Task] | Task, shown: bool = False) -> Grounding:
    """:func:`ground`, refused in one line (ValueError) where the sentence cannot be meant for
    this scene: it names none of its objects or places ("make coffee" in Reach) or a colour
    the scene has nothing of. ``shown``: its episodes are to show what it names (a run
    trained toward it), so also a colour the scene does not let a sentence choose ("no blue
    marker"); recorded episodes are scored by the colours they happened to draw."""
    grounding = ground(sentence, task)
    vocabulary = task.vocabulary
    nouns = {word for synonyms in (*vocabulary.objects.values(), *vocabulary.places.values())
             for phrase in synonyms for word in phrase.split()}
    verbs = {word for phrase in vocabulary.relations for word in phrase.split()} - PREPOSITIONS
    if nouns and not (nouns | verbs) & set(_words(sentence)):
        raise ValueError(f"{sentence!r} names nothing in {task.name}: say it with its words "
                         f"({', '.join(sorted(nouns | verbs))})")
    if grounding.unknown_words:
        raise ValueError(f"{task.name} has nothing {grounding.unknown_words[0]}: its colours "
                         f"are {', '.join(vocabulary.colours) or 'none a sentence names'}")
    if shown:
        task.check_colours(grounding.colours)
    return grounding


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
