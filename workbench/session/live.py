"""The live simulation the viewport shows: the scene's env, the policy preview while training,
objects dragged with the mouse, and the learned reward at the current state."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.envs.env import WorkbenchEnv, make_env
from workbench.registry import scene_robot
from workbench.rewards.code.model import template
from workbench.rl.policy import NumpyActor
from workbench.session.context import Context
from workbench.session.events import DifficultyChanged, Frame, SceneChanged
from workbench.session.reward_models import RewardModels
from workbench.sim.physics import Physics
from workbench.task import check_difficulty
from workbench.teleop.keyboard import controls_help
from workbench.teleop.perturb import Perturbation
from workbench.teleop.pointer import CameraPose


class LiveScene:
    def __init__(self, context: Context, rewards: RewardModels, scene: str):
        self.context, self.rewards = context, rewards
        self.episode_seed = 0
        self.playing = True  # the preview policy acts while True
        self.preview_policy: NumpyActor | None = None
        self.perturbation = Perturbation()
        self.env: WorkbenchEnv = make_env(scene, difficulty=context.difficulty)
        self.obs: np.ndarray = self.env.reset(seed=self.episode_seed)[0]
        context.scene, context.robot = scene, ""

    @property
    def physics(self) -> Physics:
        return self.env.physics

    @property
    def episode_steps(self) -> int:
        return self.env.task.episode_steps

    @property
    def most_reference_return(self) -> float:
        return self.env.task.most_reference_return

    def load(self, name: str, robot: str | None = None, control_mode: str | None = None) -> None:
        """Make ``name`` the live scene (a fresh env at the current episode seed), with another
        of its robots or control modes where given."""
        # First: an unknown scene, robot or mode is refused before anything changes.
        env = make_env(name, robot=robot, control_mode=control_mode,
                       difficulty=self.context.difficulty)
        self.release_object()
        self.env.close()
        self.env = env
        self.context.scene = name
        self.context.robot = "" if env.robot_name == scene_robot(name) else env.robot_name
        self.preview_policy = None
        self.obs, _ = self.env.reset(seed=self.episode_seed)
        self.context.events.publish(SceneChanged(name))

    def features(self) -> dict[str, int]:
        """The scene's observation features by name and size (what reward code reads)."""
        return self.env.features

    def feature_notes(self) -> dict[str, str]:
        """What the features' numbers mean, where the robot or the scene says."""
        return self.env.feature_notes

    def reward_code_template(self) -> str:
        """A first reward code for the scene, to edit: its own first terms where it declares
        them, else minus its distances (see :func:`template`)."""
        env = self.env
        return template(self.context.scene, env.features, env.feature_notes,
                        env.robot.readouts, env.task.template_terms)

    def controls_help(self) -> str:
        """The keyboard's controls in the live scene."""
        return controls_help(self.env.controller.labels,
                             pointer=hasattr(self.env.robot, "ee_position"))

    def set_difficulty(self, difficulty: float) -> None:
        """Lay the live scene out at ``difficulty`` (0: the nominal layout, 1: the curriculum's
        end): a new episode now, and every take and scripted demo recorded from here on."""
        self.context.difficulty = self.env.task.difficulty = check_difficulty(difficulty)
        self.reset_episode()
        self.context.events.publish(DifficultyChanged(self.context.difficulty))

    def reset_episode(self) -> None:
        self.episode_seed += 1
        self.obs, _ = self.env.reset(seed=self.episode_seed)
        self.context.events.publish(Frame({}))

    def show_policy(self, snapshot: dict[str, Any]) -> None:
        """Act with a policy snapshot a training job streamed (see ``GaussianPolicy``)."""
        self.preview_policy = NumpyActor(snapshot)

    def step(self) -> dict[str, Any] | None:
        """One control step without a person at the controls: the preview policy acts, else
        the physics runs for an object being dragged (the robot holds its last command), else
        nothing moves (None)."""
        if self.preview_policy is not None and self.playing:
            self.obs, _, terminated, truncated, info = self.env.step(
                self.preview_policy.act(self.obs))
            if terminated or truncated:
                self.reset_episode()
            return info
        if self.perturbation.active:
            self.env.physics.step(self.env.n_substeps)
            truth = self.env.task.evaluate(self.env.physics)
            return {"progress": truth["progress"], "success": truth["success"]}
        return None

    # -- drag-to-perturb ---------------------------------------------------------------------
    def grab_object(self, camera: CameraPose, x: float, y: float, width: int,
                    height: int) -> int | None:
        """Grab the movable body under a viewport pixel; None when there is none there."""
        return self.perturbation.grab_at(self.env.physics, camera, x, y, width, height)

    def drag_object(self, camera: CameraPose, x: float, y: float, width: int, height: int,
                    vertical: bool = False) -> None:
        if self.perturbation.active:
            self.perturbation.drag(camera, x, y, width, height, vertical)

    def release_object(self) -> None:
        self.perturbation.release(self.env.physics)

    def live_reward(self) -> dict[str, float]:
        """The latest state-based reward model's value at the current state (the viewport's
        overlay); empty when there is none, it scores camera frames, or it was fitted on another
        robot's observations."""
        model = self.rewards.latest()
        fitted_on = getattr(model, "features", None)
        if model is None or model.cameras or fitted_on not in (None, self.env.features):
            return {}
        value = model.score(self.env.state_vector()[None])
        return {"learned_reward": float(np.asarray(value).ravel()[0])}

    def close(self) -> None:
        self.env.close()
