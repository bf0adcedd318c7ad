"""Record episodes from any action source (keyboard, scripted policy, trained policy) into a
Workspace, frame by frame.

Frame ``t`` holds what the step produced: ``action`` (after clipping), then the resulting
``state`` observation, simulator ``sim_state``, ``reward`` (the scene's reference reward),
``progress`` and ``success`` (ground truth, for evaluation only) and, when requested, camera
``image/<camera>`` frames. The state before the first action is stored as the episode's initial
state, so replaying the actions from it reproduces the episode exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from workbench.data.episode import EpisodeWriter
from workbench.data.workspace import Workspace
from workbench.envs.env import WorkbenchEnv, box
from workbench.sim.render import MODEL_FRAMES, CameraRenderer


class Recorder:
    def __init__(
        self,
        env: WorkbenchEnv,
        workspace: Workspace,
        source: str,
        goal: str | None = None,
        image_cameras: tuple[str, ...] = (),
        image_size: int = 84,
    ):
        self.env = env
        self.workspace = workspace
        self.source = source
        self.goal = goal
        self.image_cameras = image_cameras
        self._renderer = (
            CameraRenderer(env.physics.model, image_size, image_size, MODEL_FRAMES)
            if image_cameras else None
        )
        self.writer: EpisodeWriter | None = None
        self.success = False
        self.seed: int | None = None

    def start(self, seed: int | None = None, from_state: np.ndarray | None = None,
              meta: dict[str, Any] | None = None) -> np.ndarray:
        """Reset with ``seed`` and begin an episode; ``from_state`` (a snapshot taken under the
        same seed) continues from a saved state instead, e.g. to branch a recorded take."""
        obs, _ = self.env.reset(seed=seed)
        if from_state is not None:
            self.env.restore(from_state)
            self.env.physics.forward()
            obs = self.env.observe()
        self.seed = seed
        goal = self.goal or self.env.task.goal_text()
        self.writer = self.workspace.new_episode(
            scene=self.env.scene_name,
            source=self.source,
            seed=seed,
            goal=goal,
            meta={
                "control_mode": self.env.control_mode,
                "difficulty": self.env.task.difficulty,
                "features": self.env.features,
                "action_labels": list(self.env.controller.labels),  # what each dimension commands
                "control_dt": self.env.control_dt,
                "robot": self.env.robot_name,
                "image_cameras": list(self.image_cameras),
                "randomization": self.env.randomization_record(),
                "colours": self.env.task.object_colours(self.env.physics),  # what replays show
                **(meta or {}),
            },
        )
        self.writer.set_initial(
            state=self.env.state_vector(), sim_state=self.env.snapshot(), **self._images()
        )
        self.success = False
        return obs

    def step(self, action: np.ndarray, human: bool | None = None
             ) -> tuple[Any, float, bool, bool, dict]:
        """One step; ``human`` (for takes where a person may take over from a policy) is
        stored per step: whether the person's command, not the policy's, was applied."""
        if self.writer is None:
            raise RuntimeError("call start() before step()")
        action = np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)
        obs, reward, terminated, truncated, info = self.env.step(action)
        frame = {
            "action": action,
            "state": self.env.state_vector(),
            "sim_state": self.env.snapshot(),
            "reward": np.float32(reward),
            "progress": np.float32(info["progress"]),
            "success": np.bool_(info["success"]),
        }
        if human is not None:
            frame["human"] = np.bool_(human)
        frame.update(self._images())
        self.writer.add_frame(**frame)
        self.success = self.success or bool(info["success"])
        return obs, reward, terminated, truncated, info

    def _images(self) -> dict[str, np.ndarray]:
        data, renderer = self.env.physics.data, self._renderer
        if renderer is None:
            return {}
        return {f"image/{cam}": renderer.rgb(data, cam) for cam in self.image_cameras}

    def save(self) -> int:
        if self.writer is None:
            raise RuntimeError("nothing is being recorded")
        final = bool(self.env.task.success(self.env.physics))
        episode_id = self.writer.save(success=final, reached_success=self.success)
        self.writer = None
        return episode_id

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.discard()
            self.writer = None

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()


Policy = Callable[[WorkbenchEnv, Any], np.ndarray]


def record_policy_episodes(
    env: WorkbenchEnv,
    workspace: Workspace,
    policy: Policy,
    episodes: int,
    source: str,
    seed: int = 0,
    image_cameras: tuple[str, ...] = (),
    progress: Callable[[int], None] | None = None,
    image_size: int = 84,
    should_stop: Callable[[], bool] | None = None,
) -> list[int]:
    """Run ``policy(env, obs)`` for whole episodes and save each; returns the episode ids.
    ``should_stop`` is asked before each episode (the ones saved so far stay)."""
    recorder = Recorder(env, workspace, source, image_cameras=image_cameras,
                        image_size=image_size)
    ids = []
    try:
        for i in range(episodes):
            if should_stop is not None and should_stop():
                break
            obs = recorder.start(seed=seed + i)
            done = False
            while not done:
                obs, _, terminated, truncated, _ = recorder.step(policy(env, obs))
                done = terminated or truncated
            ids.append(recorder.save())
            if progress:
                progress(i + 1)
    finally:
        recorder.discard()
        recorder.close()
    return ids


def scripted_policy(env: WorkbenchEnv, seed: int = 0, perturbed: bool = False) -> Policy:
    """The scene's scripted demonstrator (or its perturbed, failing twin) as a recorder policy.

    A fresh controller is made at the first step of each episode, so per-episode choices (such
    as the perturbed demonstrator's decoy direction) change between episodes.
    """
    task = env.task
    rng = np.random.default_rng(seed)
    make = task.perturbed_policy if perturbed else task.scripted_policy
    if make(rng) is None:
        kind = "perturbed demonstrator" if perturbed else "scripted demonstrator"
        raise ValueError(f"scene {env.scene_name} has no {kind}")
    current: dict[str, Any] = {}

    def act(env: WorkbenchEnv, obs: Any) -> np.ndarray:
        if env.elapsed_steps == 0 or "controller" not in current:
            current["controller"] = make(rng)
        return current["controller"](env.physics)

    return act


def scripted_successes(env: WorkbenchEnv, seeds: Iterable[int]) -> list[bool]:
    """Whether the scene's scripted demonstrator succeeds from each seed's start, its own
    choices drawn from the same seed (nothing recorded: a check of the scene and robot)."""
    outcomes = []
    for seed in seeds:
        env.reset(seed=seed)
        controller = env.task.scripted_policy(np.random.default_rng(seed))
        if controller is None:
            raise ValueError(f"scene {env.scene_name} has no scripted demonstrator")
        info: dict[str, Any] = {"success": False}
        for _ in range(env.task.episode_steps):
            _, _, terminated, truncated, info = env.step(controller(env.physics))
            if terminated or truncated:
                break
        outcomes.append(bool(info["success"]))
    return outcomes


def _offset(progress: Callable[[int], None] | None, done: int
            ) -> Callable[[int], None] | None:
    """``progress`` told the count so far of a run that continues after ``done`` episodes."""
    if progress is None:
        return None
    return lambda n: progress(done + n)


def random_policy(env: WorkbenchEnv, seed: int = 0) -> Policy:
    rng = np.random.default_rng(seed)
    low, high = box(env.action_space).low, box(env.action_space).high

    def act(env: WorkbenchEnv, obs: Any) -> np.ndarray:
        return rng.uniform(low, high)

    return act


def record_demo_set(
    workspace: Workspace,
    scene: str,
    episodes: int,
    with_failures: bool = True,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    difficulty: float = 0.0,
    seed: int | None = None,
    image_cameras: tuple[str, ...] = (),
    image_size: int = 84,
    robot: str | None = None,
) -> list[int]:
    """The scene's scripted demos and, by default, failed takes (``episodes // 2`` random and
    ``episodes`` perturbed rollouts): a progress reward learned from successes alone is easy to
    exploit. ``progress(n)`` is told the number of episodes saved so far. ``seed`` (default:
    one the workspace has not used) seeds the first take; ``image_cameras`` are rendered into
    every step."""
    from workbench.envs.env import make_env

    env = make_env(scene, difficulty=difficulty, robot=robot)
    if seed is None:
        seed = 1000 + 100 * len(workspace.episodes(include_incomplete=True))
    kinds = [("scripted", scripted_policy(env, seed), episodes)]
    if with_failures:
        kinds.append(("random", random_policy(env, seed), max(1, episodes // 2)))
        if env.task.perturbed_policy(np.random.default_rng(0)) is not None:
            kinds.append(("perturbed", scripted_policy(env, seed, perturbed=True), episodes))
    ids: list[int] = []
    try:
        for source, policy, count in kinds:
            ids += record_policy_episodes(
                env, workspace, policy, count, source, seed=seed + len(ids),
                progress=_offset(progress, len(ids)), should_stop=should_stop,
                image_cameras=image_cameras, image_size=image_size,
            )
    finally:
        env.close()
    return ids


def demo_set_size(env: WorkbenchEnv, episodes: int, with_failures: bool = True) -> int:
    """How many takes :func:`record_demo_set` records."""
    if not with_failures:
        return episodes
    perturbed = env.task.perturbed_policy(np.random.default_rng(0)) is not None
    return episodes + max(1, episodes // 2) + (episodes if perturbed else 0)
