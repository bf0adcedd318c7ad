"""A language model writes reward code; what the workspace knows picks the best.

The loop is Eureka's with CARD's check in front and Text2Reward's description of the scene:

1. the model gets a compact description of the scene (its features with sizes, its words,
   the goal sentence) and the rules of reward code, and writes K candidates;
2. each candidate is checked and scored without any RL against what the workspace holds
   (Spearman with true progress along the demos, success-versus-failure on recorded takes,
   agreement with the person's pair labels) and stored as a version of the ``code`` family;
3. the best few train PPO briefly; their true success and each term's mean over training go
   back to the model (reward reflection) for the next round.

The client speaks OpenAI's chat-completions protocol (``POST {base_url}/chat/completions``), so
it works with hosted APIs and with local servers (Ollama, vLLM, llama.cpp's server). Nothing is
sent anywhere unless a person gave a ``base_url``. It is the standard library's ``urllib``: one
JSON request per call, no streaming, so a client library would add weight and not function.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.config import validated
from workbench.rewards.code.sandbox import CodeError, check_source

KEY_VARIABLE = "WORKBENCH_LLM_KEY"
FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.DOTALL)

RULES = """Write a reward function in Python for reinforcement learning.
Rules:
- Define `def reward(f):` where f maps each feature name to a numpy array of shape (N, size),
  one row per state; compute the reward of all N rows at once with numpy.
- Return (reward, terms): reward has shape (N,); terms is a dict of named parts of the reward,
  each of shape (N,). Dense, shaped rewards that rise as the task progresses work best.
- Only `import numpy as np` and `import math` are available; no files, no classes, no names
  starting with an underscore.
- Answer with one ```python fenced block and nothing else."""


@dataclass(frozen=True)
@validated
class AuthorConfig:
    base_url: str = field(default="", metadata={
        "help": "an OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (Ollama); "
                "nothing is sent anywhere without one"})
    model: str = field(default="", metadata={"help": "the model's name at that endpoint"})
    api_key: str = field(default="", metadata={
        "help": f"the endpoint's key (default: the {KEY_VARIABLE} environment variable; a "
                "local server needs none)"})
    candidates: int = field(default=4, metadata={
        "help": "reward functions asked for per round", "min": 1, "max": 64})
    rounds: int = field(default=2, metadata={
        "help": "rounds of writing, checking and reflecting", "min": 1, "max": 20})
    train_best: int = field(default=1, metadata={
        "help": "candidates per round that get a short PPO run (0: judge without RL)",
        "min": 0, "max": 16})
    train_steps: int = field(default=20_000, metadata={
        "help": "PPO steps of each short run", "min": 1024})
    temperature: float = field(default=0.8, metadata={
        "help": "sampling temperature", "min": 0.0, "max": 2.0})
    timeout: float = field(default=120.0, metadata={
        "help": "seconds to wait for the model's answer", "gt": 0.0})


def describe(scene: str, description: str, features: dict[str, int], vocabulary: Any,
             goal: str, notes: dict[str, str] | None = None,
             readouts: dict[str, str] | None = None) -> str:
    """The scene as the model reads it (Text2Reward's compact abstraction), each feature with
    what its numbers mean where ``notes`` says, and the robot's ``readouts`` (quantities that
    are no single entry of a feature) as the lines of code that compute them."""
    objects = ", ".join(vocabulary.objects) or "none named"
    places = ", ".join(vocabulary.places) or "none named"
    notes = notes or {}
    listed = "\n".join(f"- {name}: size {size}" + (f": {notes[name]}" if name in notes else "")
                       for name, size in features.items())
    if readouts:
        listed += ("\nComputed from them, in order (copy what you use):\n"
                   + "\n".join(f"{name} = {expr}" for name, expr in readouts.items()))
    return (f"Scene {scene}: {description}.\nObjects: {objects}; places: {places}; colours "
            f"it can show: {', '.join(vocabulary.colours) or 'none'}.\nThe state's features "
            f"(vectors ending in _to_<x> point from the first thing to <x>; _pos are "
            f"positions, _vel velocities, in metres and seconds):\n{listed}\n"
            f"Goal: {goal or description}")


class ChatClient:
    """``POST {base_url}/chat/completions``; one answer per choice returned."""

    def __init__(self, config: AuthorConfig):
        if not config.base_url:
            raise ValueError("base_url: give an OpenAI-compatible endpoint (e.g. "
                             "http://localhost:11434/v1); nothing is sent without one")
        if not config.model:
            raise ValueError("model: name the model to ask at that endpoint")
        self.config = config
        self.key = config.api_key or os.environ.get(KEY_VARIABLE, "")

    def ask(self, messages: list[dict[str, str]], n: int) -> list[str]:
        """``n`` answers (asked again where a server returns fewer choices than asked)."""
        answers: list[str] = []
        while len(answers) < n:
            answers += self._complete(messages, n - len(answers))
        return answers[:n]

    def _complete(self, messages: list[dict[str, str]], n: int) -> list[str]:
        body = json.dumps({"model": self.config.model, "messages": messages, "n": n,
                           "temperature": self.config.temperature}).encode()
        request = urllib.request.Request(
            self.config.base_url.rstrip("/") + "/chat/completions", data=body, method="POST",
            headers={"Content-Type": "application/json",
                     **({"Authorization": f"Bearer {self.key}"} if self.key else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ValueError(f"base_url {self.config.base_url}: the server answered "
                             f"{exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ValueError(f"base_url {self.config.base_url}: {reason}") from None
        except json.JSONDecodeError:
            raise ValueError(f"base_url {self.config.base_url}: the answer is not JSON") from None
        try:
            choices = [c["message"]["content"] for c in reply["choices"]]
        except (KeyError, TypeError):
            raise ValueError(f"base_url {self.config.base_url}: not a chat-completions "
                             "answer (no choices[].message.content)") from None
        if not choices:
            raise ValueError(f"base_url {self.config.base_url}: the answer has no choices")
        return [str(c) for c in choices]


def extract_code(answer: str) -> str:
    """The fenced Python block of an answer (the whole answer when it has no fence)."""
    found = FENCE.search(answer)
    return (found.group(1) if found else answer).strip() + "\n"


@dataclass
class Candidate:
    round: int
    source: str
    scores: dict[str, float] = field(default_factory=dict)  # checked without RL
    error: str = ""  # why it was refused, naming the line
    model_path: str = ""  # its stored version
    training: dict[str, Any] = field(default_factory=dict)  # success and term means

    @property
    def merit(self) -> float:
        """How well it agrees with what the workspace knows (higher is better)."""
        if self.error:
            return -np.inf
        parts = [self.scores[k] for k in ("spearman_progress", "success_vs_failure",
                                          "label_accuracy") if k in self.scores]
        return float(np.mean(parts)) if parts else 0.0


def reflection(trained: list[Candidate], refused: list[Candidate]) -> str:
    """What the next round hears about this one (Eureka's reward reflection)."""
    lines = []
    for c in trained:
        terms = ", ".join(f"{k} {v:.3g}" for k, v in c.training.get("terms", {}).items())
        lines.append(f"A reward scored {c.merit:.2f} against the demos and recorded takes; PPO "
                     f"on it reached true success {c.training.get('success_rate', 0):.0%} "
                     f"and a reference return of {c.training.get('reference_return', 0):.3g} "
                     "an episode (the scene's own measure); "
                     f"its terms averaged over training: {terms or 'none'}. Its code:\n"
                     f"```python\n{c.source}```")
    for c in refused[:2]:
        lines.append(f"This one was refused ({c.error}):\n```python\n{c.source}```")
    return ("\n\n".join(lines) + "\n\nWrite an improved reward: strengthen terms that track "
            "progress, rescale or drop terms that dominate or stay flat.")


Progress = Callable[[str, int, int], bool]  # (stage, done, total) -> False to stop


def search(brief: str, config: AuthorConfig, judge: Callable[[str, int], Candidate],
           train: Callable[[Candidate], dict[str, Any]],
           progress: Progress | None = None, client: ChatClient | None = None
           ) -> list[Candidate]:
    """Every candidate of every round, with its scores; the best first."""
    client = client or ChatClient(config)
    messages = [{"role": "system", "content": RULES}, {"role": "user", "content": brief}]
    kept: list[Candidate] = []
    for round_ in range(config.rounds):
        answers = client.ask(messages, config.candidates)
        batch = []
        for i, answer in enumerate(answers):
            if progress is not None and not progress("judging candidates", i, len(answers)):
                return sorted(kept, key=lambda c: -c.merit)
            source = extract_code(answer)
            try:
                check_source(source)
                batch.append(judge(source, round_))
            except (CodeError, ValueError) as exc:
                batch.append(Candidate(round_, source, error=str(exc)))
        kept += batch
        usable = sorted((c for c in batch if not c.error), key=lambda c: -c.merit)
        trained = usable[:config.train_best]
        for i, candidate in enumerate(trained):
            if progress is not None and not progress("short PPO runs", i, len(trained)):
                return sorted(kept, key=lambda c: -c.merit)
            candidate.training = train(candidate)
        messages = [*messages, {"role": "assistant", "content": answers[0]},
                    {"role": "user", "content": reflection(
                        trained or usable[:1], [c for c in batch if c.error])}]
    # Trained ones first, by the true success of their short run, then its reference return
    # (short runs on the legged robots' scenes rarely succeed); then by merit.
    return sorted(kept, key=lambda c: (-c.training.get("success_rate", -1),
                                       -c.training.get("reference_return", -np.inf), -c.merit))
