"""Reward code as a reward family: ``reward(f)`` over the scene's named observation features,
scored in the sandbox, stored with its source.

The artifact is ``reward.py`` (the source, as written) and ``config.json`` (the scene, its
feature layout, the source's SHA-256 and the report); loading reads both and runs nothing: the
code first runs, in the sandbox, when something scores with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from workbench import config as cfg
from workbench.checksums import sha256
from workbench.config import validated
from workbench.rewards.artifact import ARTIFACT_VERSION, CONFIG, ArtifactError, read_header
from workbench.rewards.code.sandbox import Limits, Sandbox, check_source

SOURCE = "reward.py"

EXAMPLE = '''import numpy as np

def reward(f):
    """f: the scene's observation features by name, each an (N, size) array."""
    reach = -np.linalg.norm(f["hand_to_cube"], axis=1)
    push = -np.linalg.norm(f["cube_to_target"], axis=1)
    return reach + 2 * push, {"reach": reach, "push": push}
'''


def template(scene: str, features: dict[str, int], notes: dict[str, str] | None = None,
             readouts: dict[str, str] | None = None, terms: dict[str, str] | None = None) -> str:
    """A first reward for ``scene``, to edit: the scene's own first ``terms`` where it declares
    them (numpy expressions over ``f`` and the robot's ``readouts``), else minus each
    distance-like feature (a ``*_to_*`` vector), else nothing but a zero reward to replace.
    Its documentation lists every feature and what its numbers mean, where ``notes`` says."""
    notes, readouts = notes or {}, readouts or {}
    terms = terms or {name: f'-np.linalg.norm(f["{name}"], axis=1)'
                      for name in features if "_to_" in name}
    listed = "\n".join(f"        {name}: ({size},)" + (f" {notes[name]}" if name in notes else "")
                       for name, size in features.items())
    body = [f"{name} = {expr}" for name, expr in readouts.items()]
    body += [f"{name} = {expr}" for name, expr in terms.items() if expr != name]
    if terms:
        named = ", ".join(f'"{name}": {name}' for name in terms)
        body.append(f"return {' + '.join(terms)}, {{{named}}}")
    else:
        body += ["# Nothing in the feature names says what a good state is: write it here.",
                 f'return np.zeros(len(f["{next(iter(features))}"]))']
    code = "\n".join(f"    {line}" for line in body)
    return f'''import numpy as np


def reward(f):
    """The reward of each state of {scene}.

    f[name] is an (N, size) array for each of the scene's features:
{listed}
    Return the reward (N,), or (reward, {{"term": values}}): terms are plotted and logged.
    """
{code}
'''


@dataclass(frozen=True)
@validated
class CodeConfig:
    source_file: str = field(default="", metadata={
        "help": "a .py file that defines reward(f): f holds the scene's observation features "
                "by name; it returns the reward, or (reward, dict of named terms); numpy and "
                "math only"})
    source: str = field(default="", metadata={
        "help": "the code itself (what the app's editor holds), when no source_file is given"})
    wall_seconds: float = field(default=10.0, metadata={
        "help": "longest one batch may take before the code is stopped", "gt": 0.0,
        "max": 600.0})
    memory_mb: int = field(default=1024, metadata={
        "help": "memory the code may allocate, in MiB", "min": 16, "max": 1 << 20})

    def read_source(self) -> str:
        if self.source_file:
            try:
                return Path(self.source_file).expanduser().read_text()
            except OSError as exc:
                raise ValueError(f"source_file {self.source_file}: {exc.strerror}") from None
        if not self.source.strip():
            raise ValueError("source_file: give the file of your reward code (or its source)")
        return self.source


class CodeRewardModel:
    """Scores state vectors with reward code, keeping the running mean of each named term
    (:meth:`drain_terms`: what a training run logs per update)."""

    family: ClassVar[str] = "reward_code"
    config_class: ClassVar[type] = CodeConfig
    cameras: tuple[str, ...] = ()

    def __init__(self, source: str, features: dict[str, int], scene: str,
                 config: CodeConfig = CodeConfig()):
        check_source(source)
        self.source, self.features, self.scene = source, dict(features), scene
        self.config = config
        self.metrics: dict[str, Any] = {}
        self._term_sums: dict[str, float] = {}
        self._term_count = 0
        self._sandbox = Sandbox(source, limits=Limits(
            wall_seconds=config.wall_seconds, memory_bytes=config.memory_mb << 20))

    def named(self, states: np.ndarray) -> dict[str, np.ndarray]:
        """State vectors as the code sees them: one (N, size) array per feature."""
        states = np.atleast_2d(np.asarray(states, dtype=np.float64))
        width = sum(self.features.values())
        if states.shape[1] != width:
            raise ValueError(f"states have {states.shape[1]} columns; the {self.scene} "
                             f"features {list(self.features)} have {width}")
        named, start = {}, 0
        for name, size in self.features.items():
            named[name] = states[:, start:start + size]
            start += size
        return named

    def score_terms(self, states: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self._sandbox.score(self.named(states))

    def score(self, states: np.ndarray) -> np.ndarray:
        rewards, terms = self.score_terms(states)
        for name, values in terms.items():
            self._term_sums[name] = self._term_sums.get(name, 0.0) + float(values.sum())
        self._term_count += len(rewards)
        return rewards.astype(np.float32)

    def reward(self, states: np.ndarray) -> np.ndarray:
        """Per-state reward, as preference models name it (``preference_accuracy`` reads it)."""
        return self.score(states)

    def drain_terms(self) -> dict[str, float]:
        """Each term's mean over the states scored since the last call."""
        count = max(self._term_count, 1)
        means = {name: total / count for name, total in self._term_sums.items()}
        self._term_sums, self._term_count = {}, 0
        return means

    def progress_episode(self, episode: Any) -> np.ndarray:
        return self.score(episode["state"])

    def close(self) -> None:
        self._sandbox.close()

    # -- artifacts ---------------------------------------------------------------------------
    def header(self) -> dict[str, Any]:
        return {"version": ARTIFACT_VERSION, "family": self.family, "scene": self.scene,
                "features": self.features, "config": cfg.to_dict(self.config),
                "metrics": self.metrics}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / SOURCE).write_text(self.source)
        header = {**self.header(), "sha256": {SOURCE: sha256(path / SOURCE)}}
        (path / CONFIG).write_text(json.dumps(header, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> CodeRewardModel:
        """The stored code and layout; nothing runs until it scores."""
        path = Path(path)
        header = read_header(path)
        if header.get("family") != cls.family:
            raise ArtifactError(f"{path} holds a {header.get('family')!r} model, not "
                                f"{cls.family}")
        if sha256(path / SOURCE) != header.get("sha256", {}).get(SOURCE):
            raise ArtifactError(f"{path / SOURCE} changed since it was stored; store the new "
                                "code as a new reward (fit it again)")
        config = cfg.from_dict(CodeConfig, header["config"])
        model = cls((path / SOURCE).read_text(), header["features"], header["scene"], config)
        model.metrics = header.get("metrics", {})
        return model

    def get_state(self) -> dict[str, Any]:  # exact checkpoints keep the code itself
        return {"header": self.header(), "source": self.source}

    @classmethod
    def from_state(cls, state: dict[str, Any], device: str = "auto") -> CodeRewardModel:
        header = state["header"]
        model = cls(state["source"], header["features"], header["scene"],
                    cfg.from_dict(CodeConfig, header["config"]))
        model.metrics = header.get("metrics", {})
        return model


def fit_code(samples: dict[str, np.ndarray], scene: str, features: dict[str, int],
             config: CodeConfig) -> CodeRewardModel:
    """Nothing is learned: the code is checked and run once on each of ``samples`` (the states
    of one episode of each kind: a demo, a failure) so that an error shows now, naming its
    line, not in the middle of a training run; each term's curve along them is for the editor."""
    model = CodeRewardModel(config.read_source(), features, scene, config)
    curves: dict[str, dict[str, list[float]]] = {}
    for kind, states in samples.items():
        rewards, terms = model.score_terms(states)
        curves[kind] = {"reward": rewards.tolist(),
                        **{name: values.tolist() for name, values in terms.items()}}
    model.metrics = {"terms": sorted(next(iter(curves.values()), {"reward": []}).keys()
                                     - {"reward"}), "term_curves": curves}
    return model
