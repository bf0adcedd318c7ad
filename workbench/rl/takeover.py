"""Human take-over while a policy runs, and what training makes of it (HIL-SERL, RLPD).

While a policy acts, a device (keyboard, gamepad, leader arm; a script in tests) may take over
at any step: ``device(env)`` returns an action while the person is steering and ``None`` when
hands are off. The person's action replaces the policy's for that step; a recorded take stores
which steps were the person's (per-step ``human``), and the transitions they produced are
``Interventions``: SAC samples them beside its own replay, half of every batch (the symmetric
sampling of RLPD, Ball et al. 2023, which HIL-SERL, Luo et al. 2024, uses for interventions).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.envs.goal import GoalEnv

Device = Callable[[Any], "np.ndarray | None"]


@dataclass
class Interventions:
    """Goal-conditioned transitions from the steps a person commanded."""

    obs: list[np.ndarray] = field(default_factory=list)
    action: list[np.ndarray] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)
    next_obs: list[np.ndarray] = field(default_factory=list)
    terminated: list[float] = field(default_factory=list)
    goal: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.action)

    def add(self, obs, action, reward, next_obs, terminated, goal) -> None:
        self.obs.append(obs)
        self.action.append(np.asarray(action, np.float32))
        self.reward.append(float(reward))
        self.next_obs.append(next_obs)
        self.terminated.append(float(terminated))
        self.goal.append(goal)

    def sample(self, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        index = rng.integers(0, len(self), batch)

        def pick(values: list) -> np.ndarray:
            return np.asarray(values, np.float32)[index]

        return (pick(self.obs), pick(self.action), pick(self.reward), pick(self.next_obs),
                pick(self.terminated), pick(self.goal))


# The run's reward of recorded steps: (states before, states after, the episode's arrays).
StepReward = Callable[[np.ndarray, np.ndarray, Any], np.ndarray]


def interventions_from_episodes(episodes: Iterable[Any], reward: StepReward,
                                episode_steps: int) -> Interventions:
    """The steps a person commanded in recorded episodes (``human`` per step, as
    :func:`run_with_takeover` and the Record panel's take-overs store it), as flat-observation
    transitions rewarded by the run's ``reward``. An episode that ended before
    ``episode_steps`` terminated on its last step; the others were cut by the time limit."""
    found = Interventions()
    empty = np.zeros(0, np.float32)
    for episode in episodes:
        human = episode.get("human")
        if human is None or not human.any():
            continue
        states = np.asarray(episode["state"], np.float32)
        before = np.concatenate([episode.initial()["state"][None].astype(np.float32),
                                 states[:-1]])
        rewards = reward(before, states, episode)
        last = len(states) - 1
        for t in np.flatnonzero(human[: len(states)]):
            found.add(before[t], episode["action"][t], rewards[t], states[t],
                      t == last and len(states) < episode_steps, empty)
    return found


def interventions_from_logs(paths: Iterable[str | Path], score: Callable[[np.ndarray,
                            np.ndarray], np.ndarray], obs_dim: int,
                            into: Interventions | None = None) -> Interventions:
    """The transitions of runner take-over logs (``workbench run --takeover-log``, one JSON
    line per tick a person commanded, with the observation it led to), rewarded by
    ``score(observations, next_observations)``: a robot's log carries no simulator state, so
    only a reward over observations can score it. Lines without a next observation (the last
    tick of an episode) are left out; a malformed line is a one-line error naming the file."""
    found = into if into is not None else Interventions()
    empty = np.zeros(0, np.float32)
    for path in paths:
        rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        with open(path) as log:
            for number, line in enumerate(log, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if row.get("next_observation") is None:
                        continue
                    before, after = (np.asarray(row[key], np.float32)
                                     for key in ("observation", "next_observation"))
                    action = np.asarray(row["person"], np.float32)
                    if before.shape != (obs_dim,) or after.shape != (obs_dim,) or not (
                            np.isfinite(before).all() and np.isfinite(after).all()
                            and np.isfinite(action).all()):
                        raise ValueError(f"observations are not {obs_dim} finite numbers")
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    raise ValueError(f"{path}, line {number}: not a take-over log line of "
                                     f"this scene ({exc})") from None
                rows.append((before, action, after))
        if rows:
            before = np.stack([r[0] for r in rows])
            after = np.stack([r[2] for r in rows])
            for (obs, action, next_obs), reward in zip(rows, score(before, after), strict=True):
                found.add(obs, np.clip(action, -1.0, 1.0), reward, next_obs, False, empty)
    return found


@dataclass
class TakeoverReport:
    interventions: Interventions
    human_steps: list[list[bool]]  # per episode, per step
    successes: list[bool]
    episode_ids: list[int]  # in the workspace, when one was given


def run_with_takeover(env: GoalEnv, policy: Callable[[dict], np.ndarray], device: Device,
                      episodes: int, seed: int = 0, workspace: Any = None) -> TakeoverReport:
    """Run ``policy`` on a goal-conditioned scene for ``episodes``, letting ``device`` take
    over; record each take in ``workspace`` when given (source ``takeover``)."""
    from workbench.teleop.recorder import Recorder

    base = env.base
    recorder = Recorder(base, workspace, "takeover") if workspace is not None else None
    report = TakeoverReport(Interventions(), [], [], [])
    for episode in range(episodes):
        if recorder is not None:
            recorder.start(seed=seed + episode)
        else:
            base.reset(seed=seed + episode)
        obs = env._goal_obs()
        flags: list[bool] = []
        info: dict[str, Any] = {}
        done = False
        while not done:
            steering = device(env)
            human = steering is not None
            action = np.clip(steering if steering is not None else policy(obs), -1.0, 1.0)
            if recorder is not None:
                _, _, terminated, truncated, info = recorder.step(action, human=human)
            else:
                _, _, terminated, truncated, info = base.step(action)
            next_obs = env._goal_obs()
            if human:
                reward = float(env.compute_reward(next_obs["achieved_goal"],
                                                  next_obs["desired_goal"]))
                report.interventions.add(obs["observation"], action, reward,
                                         next_obs["observation"], terminated,
                                         obs["desired_goal"])
            flags.append(human)
            obs, done = next_obs, terminated or truncated
        report.human_steps.append(flags)
        report.successes.append(bool(info.get("success", False)))
        if recorder is not None:
            report.episode_ids.append(recorder.save())
    if recorder is not None:
        recorder.close()
    return report


def scripted_takeover(env: GoalEnv, start: int, steps: int, seed: int = 0) -> Device:
    """A device that takes over at step ``start`` of every episode for ``steps`` steps with
    the scene's scripted demonstrator (what a person steering to the goal would do)."""
    rng = np.random.default_rng(seed)
    script: dict[str, Any] = {}

    def device(goal_env: GoalEnv) -> np.ndarray | None:
        base = goal_env.base
        step = base.elapsed_steps
        if step == 0 or "act" not in script:  # a fresh demonstrator for each episode
            script["act"] = base.task.scripted_policy(rng)
        if start <= step < start + steps:
            return np.asarray(script["act"](base.physics), np.float32)
        return None

    return device
