"""The scene contract: arena and objects, episode initialisation, observations, ground truth.

A task owns the decisions (dm_control style): the env loop only calls its hooks. Every task
exposes ground truth (``success``, named ``stages``, reference reward terms and a ground-truth
``progress``) used to *evaluate* learned rewards, never to train them.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import mujoco
import numpy as np

from workbench.robot import Robot
from workbench.sim.mirror import Mirror
from workbench.sim.physics import Physics


@dataclass(frozen=True)
class Vocabulary:
    """Words a language goal can use to refer to this scene."""

    objects: dict[str, tuple[str, ...]] = field(default_factory=dict)  # object -> synonyms
    colours: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    places: dict[str, tuple[str, ...]] = field(default_factory=dict)


_TOLERANCE_SCALE = math.sqrt(-2 * math.log(0.1))


def check_difficulty(difficulty: float) -> float:
    """``difficulty`` as a float, refused in one line outside 0 (the scene's nominal layout)
    to 1 (its widest variations)."""
    if not 0.0 <= difficulty <= 1.0:  # NaN too
        raise ValueError(f"difficulty must be from 0 to 1, got {difficulty:g}")
    return float(difficulty)


def tolerance(distance: float, margin: float) -> float:
    """Bounded shaped term in (0, 1]: 1 at zero distance, 0.1 at ``margin`` (gaussian)."""
    return math.exp(-0.5 * (distance * _TOLERANCE_SCALE / margin) ** 2)


ScriptedPolicy = Callable[[Physics], np.ndarray]


class Task(ABC):
    """Base class for scene plugins."""

    name: ClassVar[str]
    tags: ClassVar[tuple[str, ...]]
    robot: ClassVar[str]  # robot registry name
    # Other robots of the same kind the scene is laid out and demonstrated for (its scripted
    # demonstrator is tested with each); any robot of the kind may be tried.
    stand_ins: ClassVar[tuple[str, ...]] = ()
    arena: ClassVar[Path]
    description: ClassVar[str] = ""
    default_control_mode: ClassVar[str | None] = None
    control_dt: ClassVar[float] = 0.04
    episode_steps: ClassVar[int] = 100
    cameras: ClassVar[tuple[str, ...]] = ()
    vocabulary: ClassVar[Vocabulary] = Vocabulary()
    stage_names: ClassVar[tuple[str, ...]] = ()
    # Where the GUI's free camera starts: lookat (x, y, z), distance, azimuth, elevation;
    # ``track`` names a body the camera follows (for locomotion). Written for the scene's own
    # robot; another's ``Robot.scene_view`` may move it (a small arm's table is smaller).
    viewer: ClassVar[dict[str, object]] = {}
    reference_weights: ClassVar[dict[str, float]] = {}
    # Vocabulary objects a goal sentence binds, in order: the one that moves, then where it goes.
    goal_roles: ClassVar[tuple[str, ...]] = ()
    # True when episodes come in left-right mirror images of each other (objects left or right
    # of the arm): image rewards may then train on flipped frames.
    mirrored_layouts: ClassVar[bool] = False
    # PerceptualConfig fields this scene's image rewards start from (measured per scene in
    # docs/BENCHMARKS.md, e.g. reference_frame where the target moves between episodes).
    perceptual_options: ClassVar[dict[str, object]] = {}
    # ProgressConfig fields this scene's state progress reward starts from (e.g. the features
    # that say how far the task is, so the reward cannot pay for where things merely stand).
    progress_options: ClassVar[dict[str, object]] = {}
    # PreferenceConfig fields its preference reward starts from (the features rankings of its
    # clips are about, as for progress).
    preference_options: ClassVar[dict[str, object]] = {}
    # PPOConfig fields a run of this scene starts from (measured per scene in
    # docs/BENCHMARKS.md, e.g. more minibatches where the defaults learn slowly per sample).
    ppo_options: ClassVar[dict[str, object]] = {}
    # Goal-conditioned scenes (for hindsight relabelling, see workbench.envs.goal): the features
    # that carry the goal (left out of the goal-free observation; the first holds
    # desired_goal() in its first entries), and the success radius between achieved_goal()
    # and desired_goal(). Empty: the scene is not goal-conditioned.
    goal_features: ClassVar[tuple[str, ...]] = ()
    goal_tolerance: ClassVar[float] = 0.0
    # Goal sentences: the colours a goal role can be given in an episode (a sentence naming
    # one makes it so), and the roles that are a choice among objects present together (a
    # goal-conditioned policy trains on every choice; the sentence picks one at run time).
    goal_colours: ClassVar[dict[str, tuple[str, ...]]] = {}
    goal_choices: ClassVar[tuple[str, ...]] = ()
    # What a feature's numbers mean where its name does not say (frames, units, order): shown
    # beside the features to whoever writes reward code, a person or a language model.
    feature_notes: ClassVar[dict[str, str]] = {}
    # The terms of the first reward the reward-code editor offers, as numpy expressions over
    # the features ``f`` and the robot's :attr:`Robot.readouts` by name; empty: minus each
    # distance-like feature (a ``*_to_*`` vector). A sketch to edit, not the reference reward.
    template_terms: ClassVar[dict[str, str]] = {}

    def __init__(self, difficulty: float = 0.0):
        self.difficulty = check_difficulty(difficulty)
        self.control_mode = self.default_control_mode or ""  # the env sets the one in use
        # Colours a goal sentence asked for, by role (the env sets them; episodes honour them).
        self.requested_colours: dict[str, str] = {}

    @classmethod
    def check_colours(cls, colours: Mapping[str, str | None]) -> dict[str, str]:
        """The named colours (None: not named), or a ValueError saying what the scene has."""
        wanted = {role: c for role, c in colours.items() if c is not None}
        for role, colour in wanted.items():
            options = cls.goal_colours.get(role, ())
            if colour not in options:
                raise ValueError(
                    f"{cls.name} has no {colour} {role}: its {role} can be "
                    f"{', '.join(options) or 'no colour a sentence chooses'}")
        return wanted

    def request_colours(self, colours: Mapping[str, str | None]) -> None:
        """Make the next episodes show the named colours (None: the scene draws at random)."""
        self.requested_colours = self.check_colours(colours)

    def draw_colour(self, role: str, rng: np.random.Generator) -> str:
        """This episode's colour of ``role``: the requested one, else one drawn from ``rng``
        (drawn either way, so an episode's other variations do not depend on the request)."""
        drawn = str(rng.choice(self.goal_colours[role]))
        return self.requested_colours.get(role, drawn)

    def arena_spec(self, robot: Robot) -> mujoco.MjSpec:
        """The arena's spec, laid out for ``robot`` (a scene may size its furniture to it)."""
        from workbench.sim.compose import load_spec

        return load_spec(self.arena)

    @abstractmethod
    def bind(self, physics: Physics, robot: Robot) -> None:
        """Resolve ids after compilation."""

    @abstractmethod
    def initialize_episode(self, physics: Physics, rng: np.random.Generator) -> None:
        """Set the initial state (robot already at home), with variations from ``rng``."""

    @abstractmethod
    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        """Task features (object poses, goals), keyed as in :meth:`features`."""

    @abstractmethod
    def features(self) -> dict[str, int]:
        ...

    def mirror(self) -> dict[str, Mirror] | None:
        """How each task feature changes when the scene is mirrored left to right (y -> -y,
        through the robot's base), where the scene is symmetric: a layout's mirror image is as
        likely and its truth the same. None: no such symmetry (the default)."""
        return None

    def seen_features(self) -> dict[str, int]:
        """The task's state as its cameras show it, whatever a goal sentence says: what an image
        encoder learns to read (``perceptual.pretrain``). The observation by default; a scene
        whose observation binds the sentence (PushChoice's ``target_pos`` is the named pad's)
        names things here by how they look instead, as a frame cannot show which one was named."""
        return self.features()

    def seen_state(self, physics: Physics) -> dict[str, np.ndarray]:
        """:meth:`seen_features`' values."""
        return self.observe(physics)

    @abstractmethod
    def evaluate(self, physics: Physics) -> dict[str, Any]:
        """All ground truth of the current state, computed in one pass (the env calls this once
        per step): ``success`` (bool), ``progress`` in [0, 1] (1 = done), ``stages`` (named
        predicates, keys as :attr:`stage_names`) and ``terms`` (reference reward terms in
        [0, 1], keys as :attr:`reference_weights`). Used to *evaluate* learned rewards only."""

    def success(self, physics: Physics) -> bool:
        return bool(self.evaluate(physics)["success"])

    def stages(self, physics: Physics) -> dict[str, bool]:
        return self.evaluate(physics)["stages"]

    def reference_terms(self, physics: Physics) -> dict[str, float]:
        return self.evaluate(physics)["terms"]

    def progress(self, physics: Physics) -> float:
        return float(self.evaluate(physics)["progress"])

    @property
    def most_reference_return(self) -> float:
        """The most an episode of the reference reward can pay (each term is in [0, 1])."""
        return self.episode_steps * sum(max(w, 0.0) for w in self.reference_weights.values())

    def reference_reward(self, terms: dict[str, float]) -> float:
        return float(sum(self.reference_weights[k] * terms[k] for k in self.reference_weights))

    def after_step(self, physics: Physics) -> None:  # noqa: B027 - optional hook
        """Per-control-tick bookkeeping (e.g. distance travelled)."""

    def should_terminate(self, physics: Physics) -> bool:
        return False

    def scripted_policy(self, rng: np.random.Generator) -> ScriptedPolicy | None:
        """A controller that solves the task, for demonstrations and tests; None if absent."""
        return None

    def perturbed_policy(self, rng: np.random.Generator) -> ScriptedPolicy | None:
        """A demonstrator that looks competent but fails: negatives for reward learning."""
        return None

    def achieved_goal(self, physics: Physics) -> np.ndarray:
        """Where the thing the goal is about is now (goal-conditioned scenes)."""
        raise NotImplementedError(f"{self.name} is not goal-conditioned")

    def desired_goal(self, physics: Physics) -> np.ndarray:
        """Where it should be (goal-conditioned scenes)."""
        raise NotImplementedError(f"{self.name} is not goal-conditioned")

    def place_goal(self, physics: Physics, goal: np.ndarray) -> None:
        """Move the goal to ``goal`` (``desired_goal``'s coordinates; a scene may clip it to
        where its goals can be). Hindsight frames render recorded states with the goal moved:
        see :mod:`workbench.rewards.perceptual.hindsight`."""
        raise NotImplementedError(f"{self.name} cannot move its goal")

    def scatter(self, physics: Physics, rng: np.random.Generator) -> None:
        """After a reset, put the hand and the objects somewhere random (the hand anywhere
        near the things that matter, objects sometimes in the hand or on the goal): a state
        worth looking at, not necessarily one a policy could reach. Frames of such states
        teach an image encoder where things are, with labels from the simulator
        (:mod:`workbench.rewards.perceptual.pretrain`)."""
        raise NotImplementedError(f"{self.name} cannot scatter its state")

    def object_colours(self, physics: Physics) -> dict[str, str]:
        """The colour names of this episode's goal-role objects (for language grounding)."""
        return {}

    def goal_text(self) -> str:
        """A sentence describing this episode's goal (uses the episode's variations)."""
        return self.description
