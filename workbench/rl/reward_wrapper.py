"""Replace a vector env's reward with a learned reward, computed in one batch per step.

The model's ``score`` is the per-step signal (progress for progress models, the standardised
ensemble reward for preference models), turned into a reward by a transform. A model over
camera frames (``model.cameras``) scores the frames that
:class:`workbench.envs.frames.RenderedFrames` puts in each step's info; every other model
scores the states. A goal-conditioned frame reward (``model.goal_conditioned``) scores each
env's frames towards that env's episode sentence (``info["goal"]``), so a run whose envs draw
the goal's choice per episode rewards each episode for the choice its policy was shown.

The env's own reward stays visible as ``info["env_reward"]`` and the scene's ground truth
(``success``, reference reward) passes through untouched, so training logs can put the learned
return beside the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from workbench.rewards.transforms import progress_reward

# Told each step's (next states before any reset, the env's own rewards, which envs ended).
StepObserver = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


class LearnedRewardWrapper(gym.vector.VectorWrapper):
    """``model=None`` gives zero reward until :meth:`set_model` installs one (online reward
    learning starts without a model); ``on_step`` sees every transition (its segment buffer)."""

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        model: Any,
        transform: str = "progress",
        gamma: float = 0.99,
        features: dict[str, int] | None = None,
        on_step: StepObserver | None = None,
    ):
        super().__init__(env)
        if env.metadata.get("autoreset_mode") != gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError("LearnedRewardWrapper needs a vector env with SAME_STEP autoreset")
        self.features = features
        self.transform = transform
        self.gamma = gamma
        self.on_step = on_step
        self.model: Any = None
        self._phi: np.ndarray | None = None
        self._obs: np.ndarray | None = None
        self._frames: np.ndarray | None = None
        self._goals: np.ndarray | None = None
        self.set_model(model)

    def set_model(self, model: Any) -> None:
        """Score from now on with ``model`` (the potential of the current states included)."""
        # Anything with score(states) may serve (tests use plain scorers); reward families
        # also say which cameras they score and check the features they were fitted on.
        frames = bool(getattr(model, "cameras", ()))
        check = getattr(model, "check_features", None)
        if check is not None and self.features is not None and not frames:
            check(self.features)
        if frames and self._obs is not None and self._frames is None:
            raise ValueError("a reward over camera frames needs envs wrapped in RenderedFrames")
        self.model = model
        if self._obs is not None:
            self._phi = self._score(self._obs, self._frames, self._goals)

    def _score(self, states: np.ndarray, frames: np.ndarray | None,
               goals: np.ndarray | None = None) -> np.ndarray:
        if self.model is None:
            return np.zeros(len(states))
        if getattr(self.model, "cameras", ()):
            if frames is None:
                raise ValueError("a reward over camera frames needs envs wrapped in "
                                 "workbench.envs.frames.RenderedFrames (train_run does this)")
            return score_frames(self.model, frames, goals)
        return self.model.score(states)

    # Exact checkpoints: the potential carried between steps, and what it was scored on (a
    # refit model installed after a resume scores the same states again).
    def get_state(self) -> dict[str, Any]:
        return {"phi": self._phi, "obs": self._obs, "frames": self._frames,
                "goals": goal_list(self._goals)}

    def set_state(self, state: dict[str, Any]) -> None:
        self._phi, self._obs, self._frames = state["phi"], state["obs"], state["frames"]
        self._goals = goal_array(state.get("goals"))

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self._obs, self._frames, self._goals = obs, info.get("frames"), info.get("goal")
        self._phi = self._score(obs, self._frames, self._goals)
        return obs, info

    def step(self, actions: np.ndarray):
        obs, env_reward, terminated, truncated, info = self.env.step(actions)
        next_states, next_frames, next_goals, done = reached(obs, info)
        self._reached = next_states, next_frames, next_goals  # for subclasses keeping labels
        frames, goals = info.get("frames"), info.get("goal")
        phi_next = self._score(next_states, next_frames, next_goals)
        reward = progress_reward(phi_next, self._phi, self.transform, self.gamma)
        phi = phi_next.copy()
        if done is not None and done.any():  # the new episodes' first states
            phi[done] = self._score(obs[done], None if frames is None else frames[done],
                                    None if goals is None else goals[done])
        self._phi = phi
        self._obs, self._frames, self._goals = obs, frames, goals
        if self.on_step is not None:
            ended = done if done is not None else np.zeros(len(obs), bool)
            self.on_step(next_states, np.asarray(env_reward, np.float64), ended)
        info = dict(info)
        info["env_reward"] = env_reward
        info["learned_score"] = phi_next
        return obs, reward.astype(np.float64), terminated, truncated, info


# Episode sentences travel as object arrays (one per env); checkpoints keep them as lists.
def goal_list(goals: np.ndarray | None) -> list[str | None] | None:
    return None if goals is None else [None if g is None else str(g) for g in goals]


def goal_array(goals: list[str | None] | None) -> np.ndarray | None:
    return None if goals is None else np.array(goals, dtype=object)


def score_frames(model: Any, frames: np.ndarray, goals: np.ndarray | None) -> np.ndarray:
    """``model.score`` of a batch of frames; a goal-conditioned model is told each row's
    episode sentence where the envs reported one."""
    if goals is not None and getattr(model, "goal_conditioned", False):
        return np.asarray(model.score(frames, goals), np.float64)
    return np.asarray(model.score(frames), np.float64)


def reached(obs: np.ndarray, info: dict[str, Any]):
    """The states (and frames and episode sentences, where rendered) each env reached this
    step, before any automatic reset, and which envs ended: a SAME_STEP vector env hands the
    ended episodes' last observations and frames over in ``final_obs`` / ``final_info``."""
    next_states = np.array(obs, copy=True)
    done = info.get("_final_obs")
    if done is not None and done.any():
        next_states[done] = np.stack(info["final_obs"][done])
    return (next_states, reached_rows(info, "frames", done), reached_rows(info, "goal", done),
            done)


def reached_rows(info: dict[str, Any], key: str, done: np.ndarray | None) -> np.ndarray | None:
    """``info[key]`` of the step each env reached (frames, sentences, seen states): an ended
    episode's from ``final_info``, where its last step had one."""
    value = info.get(key)
    if value is None:
        return None
    rows = np.array(value, copy=True)
    if done is not None and done.any():
        final = info["final_info"]
        ended = done & final.get(f"_{key}", np.zeros_like(done))
        if ended.any():
            rows[ended] = final[key][ended]
    return rows


class SuccessRewardWrapper(gym.vector.VectorWrapper):
    """The sparse reward: 1 on steps where the scene's ground-truth success holds, else 0 (the
    env's own reward stays visible as ``info["env_reward"]``). What a user has before teaching
    anything, and the hard case for exploration that curricula and learned rewards answer."""

    def step(self, actions: np.ndarray):
        obs, env_reward, terminated, truncated, info = self.env.step(actions)
        success = np.asarray(info.get("success", np.zeros(len(obs), bool)), dtype=np.float64)
        info = dict(info)
        info["env_reward"] = env_reward
        return obs, success, terminated, truncated, info

    # Nothing is carried between steps, but an exact checkpoint refuses any layer that does not
    # say so (see workbench.rl.checkpoint).
    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        pass
