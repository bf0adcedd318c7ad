"""The application state behind the GUI, with no Qt in it.

Views subscribe to named events (``scene``, ``frame``, ``recording``, ``episodes``, ``job``,
``error``) and call methods; the session owns the viewport's env, the recorder, teleop, the
background jobs and the workspace. A GUI timer calls :meth:`tick` and :meth:`poll_jobs`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from workbench.data.workspace import Workspace
from workbench.envs.env import WorkbenchEnv, make_env, scene_info
from workbench.feedback.sampling import Segment, sample_pair
from workbench.registry import SCENES
from workbench.session.jobs import Job, JobEvent
from workbench.sim.render import CameraRenderer
from workbench.teleop.keyboard import KeyboardTeleop
from workbench.teleop.pointer import PointerTarget
from workbench.teleop.recorder import (
    Recorder,
    random_policy,
    record_policy_episodes,
    scripted_policy,
)

Listener = Callable[..., None]


class NumpyPolicy:
    """A policy snapshot (state dict as arrays) evaluated in numpy: the viewport can show the
    policy as it learns without torch in the GUI process's hot path."""

    def __init__(self, state: dict[str, np.ndarray], hidden: list[int]):
        self.mean, self.var = state["obs_mean"], state["obs_var"]
        self.layers = [
            (state[f"actor.{2 * i}.weight"], state[f"actor.{2 * i}.bias"])
            for i in range(len(hidden) + 1)
        ]

    def act(self, obs: np.ndarray) -> np.ndarray:
        x = np.clip((obs - self.mean) / np.sqrt(self.var + 1e-8), -10, 10)
        for i, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if i < len(self.layers) - 1:
                x = np.tanh(x)
        return np.clip(x, -1.0, 1.0)


class Session:
    def __init__(self, workspace: str | Path, scene: str | None = None):
        self.workspace = Workspace.open(workspace, create=True)
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self.env: WorkbenchEnv | None = None
        self.recorder: Recorder | None = None
        self.teleop: KeyboardTeleop | None = None
        self.device: Any = None  # a GamepadReader or SpaceMouseReader while recording with one
        self.pointer: PointerTarget | None = None
        self.preview_policy: NumpyPolicy | None = None
        self.jobs: dict[str, Job] = {}
        self.rng = np.random.default_rng()
        self.episode_seed = 0
        self.playing = True
        self._scratch: tuple[Any, WorkbenchEnv, CameraRenderer] | None = None
        self._preference: tuple[int | None, Any] = (None, None)
        self.set_scene(scene or self.scene_names()[0])

    # -- events ------------------------------------------------------------------------------
    def subscribe(self, topic: str, listener: Listener) -> None:
        self._listeners[topic].append(listener)

    def emit(self, topic: str, /, **data: Any) -> None:
        for listener in list(self._listeners[topic]):
            listener(**data)

    # -- scenes ------------------------------------------------------------------------------
    @staticmethod
    def scene_names() -> list[str]:
        return SCENES.names()

    def scene_infos(self) -> list[dict[str, Any]]:
        return [scene_info(name) for name in self.scene_names()]

    def set_scene(self, name: str) -> None:
        if self.recorder is not None:
            self.stop_recording(save=False)
        if self.env is not None:
            self.env.close()
        self.env = make_env(name)
        self.scene = name
        self.preview_policy = None
        self.obs, _ = self.env.reset(seed=self.episode_seed)
        self.emit("scene", name=name)

    def reset_episode(self) -> None:
        self.episode_seed += 1
        self.obs, _ = self.env.reset(seed=self.episode_seed)
        self.emit("frame", info={})

    # -- the live loop -----------------------------------------------------------------------
    def tick(self) -> dict[str, Any] | None:
        """Advance one control step: teleop while recording, else the preview policy."""
        if self.recorder is not None and self.teleop is not None:
            self.obs, _, terminated, truncated, info = self.recorder.step(self.teleop_action())
            if terminated or truncated:
                self.stop_recording(save=True)
        elif self.preview_policy is not None and self.playing:
            self.obs, _, terminated, truncated, info = self.env.step(
                self.preview_policy.act(self.obs)
            )
            if terminated or truncated:
                self.reset_episode()
        else:
            return None
        self.emit("frame", info=info)
        return info

    def teleop_action(self):
        """The action of this tick: the dragged target while the pointer holds it, else the
        chosen device (gamepad, SpaceMouse), else the keyboard. The gripper is the keyboard's
        (space), whatever moves the hand."""
        if self.pointer is not None and self.pointer.dragging:
            self.pointer.gripper_open = self.teleop.gripper_open
            return self.pointer.action(self.env.robot.ee_position(self.env.physics))
        if self.device is not None:
            return self.device.poll()
        return self.teleop.action()

    # -- record ------------------------------------------------------------------------------
    def start_recording(self, goal: str | None = None, device: str = "keyboard") -> None:
        """Start a take driven by ``device``: keyboard, gamepad or spacemouse (the keyboard
        and the viewport's dragged target always work too). Raises RuntimeError, with what to
        do, when the device is not there; nothing is recorded then."""
        labels = self.env.controller.labels
        self.device = self._open_device(device, labels)  # first: it may fail
        self.teleop = KeyboardTeleop(labels)
        self.pointer = PointerTarget(labels) if hasattr(self.env.robot, "ee_position") else None
        self.recorder = Recorder(self.env, self.workspace, "teleop", goal=goal or None)
        self.episode_seed += 1
        self.obs = self.recorder.start(seed=self.episode_seed)
        self.emit("recording", active=True)

    def stop_recording(self, save: bool) -> int | None:
        if self.recorder is None:
            return None
        episode_id = self.recorder.save() if save else None
        if not save:
            self.recorder.discard()
        self.recorder.close()
        if self.device is not None:
            self.device.close()
        self.recorder, self.teleop, self.device, self.pointer = None, None, None, None
        self.emit("recording", active=False)
        self.emit("episodes")
        return episode_id

    @staticmethod
    def _open_device(device: str, labels: tuple[str, ...]):
        if device == "keyboard":
            return None
        if device == "gamepad":
            from workbench.teleop.gamepad import GamepadReader, GamepadTeleop

            return GamepadReader(GamepadTeleop(labels))
        if device == "spacemouse":
            from workbench.teleop.spacemouse import SpaceMouseReader, SpaceMouseTeleop

            return SpaceMouseReader(SpaceMouseTeleop(labels))
        raise ValueError(f"unknown teleop device {device!r}: keyboard, gamepad or spacemouse")

    def record_scripted(
        self,
        episodes: int,
        with_failures: bool = True,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[int]:
        """Record the scene's scripted demos and, by default, as many failed takes (random and
        perturbed rollouts): a progress reward learned from successes alone is easy to exploit.
        """
        env = make_env(self.scene)
        seed = 1000 + 100 * len(self.workspace.episodes(include_incomplete=True))
        kinds = [("scripted", scripted_policy(env, seed), episodes)]
        if with_failures:
            kinds.append(("random", random_policy(env, seed), max(1, episodes // 2)))
            if env.task.perturbed_policy(np.random.default_rng(0)) is not None:
                kinds.append(("perturbed", scripted_policy(env, seed, perturbed=True), episodes))
        ids: list[int] = []
        try:
            for source, policy, count in kinds:
                ids += record_policy_episodes(
                    env, self.workspace, policy, count, source, seed=seed + len(ids),
                    progress=on_progress,
                )
        finally:
            env.close()
        self.emit("episodes")
        return ids

    def episodes(self) -> list[dict[str, Any]]:
        return self.workspace.episodes(scene=self.scene)

    def frame_of(self, episode_id: int, t: int, size: tuple[int, int] = (240, 180)) -> np.ndarray:
        """Render frame ``t`` of a recorded episode from its saved simulator state."""
        episode = self.workspace.load_episode(episode_id)
        states = episode["sim_state"]
        if not len(states):
            raise ValueError(f"episode {episode_id} has no frames")
        scene = episode.meta["scene"]
        if self._scratch is None or self._scratch[0] != (scene, size):
            if self._scratch is not None:
                self._scratch[1].close()
                self._scratch[2].close()
            env = make_env(scene)
            env.reset(seed=0)
            self._scratch = ((scene, size), env, CameraRenderer(env.physics.model, *size))
        _, env, renderer = self._scratch
        env.restore(states[min(max(t, 0), len(states) - 1)])
        camera = env.task.cameras[0] if env.task.cameras else -1
        return renderer.rgb(env.physics.data, camera)

    # -- rank and goal -----------------------------------------------------------------------
    def preference_model(self):
        """The scene's latest preference ensemble (loaded once per model), or None."""
        models = [m for m in self.workspace.models(self.scene) if m["family"] == "preference"]
        if not models:
            return None
        latest = models[-1]
        if self._preference[0] != latest["id"]:
            from workbench.rewards.artifact import load_reward_model

            self._preference = (latest["id"], load_reward_model(latest["path"], device="cpu"))
        return self._preference[1]

    def next_pair(self, length: int = 20, candidates: int = 12) -> tuple[Segment, Segment]:
        """The next pair to rank. Once a preference ensemble exists for the scene, the most
        disputed of ``candidates`` sampled pairs (active learning); before that, a random one."""
        model = self.preference_model()
        if model is None:
            return sample_pair(self.workspace, self.scene, length, self.rng)
        from workbench.feedback.active import select_queries
        from workbench.rewards.preference.dataset import SegmentCache

        pool = [sample_pair(self.workspace, self.scene, length, self.rng)
                for _ in range(candidates)]
        return select_queries(model, pool, SegmentCache(self.workspace).states, 1)[0]

    def answer_pair(self, pair: tuple[Segment, Segment], answer: str) -> int:
        pref = self.workspace.add_preference([tuple(s) for s in pair], answer, teacher="user")
        self.emit("preferences", count=len(self.workspace.preferences()))
        return pref

    def add_goal(self, text: str, baseline: str | None = None) -> int:
        goal_id = self.workspace.add_goal(text, self.scene, baseline)
        self.emit("goals")
        return goal_id

    # -- background jobs ---------------------------------------------------------------------
    def start_job(self, name: str, target: str, **kwargs: Any) -> Job:
        running = self.jobs.get(name)
        if running is not None and running.running:
            raise RuntimeError(f"a {name} job is already running; stop it first")
        job = Job(target, workspace=str(self.workspace.root), scene=self.scene, **kwargs)
        self.jobs[name] = job.start()
        self.emit("job", name=name, event=JobEvent("started"))
        return job

    def fit_reward(self, overrides: tuple[str, ...] = (), family: str = "progress") -> Job:
        return self.start_job(
            "reward", "workbench.session.tasks:fit_reward", overrides=overrides, family=family
        )

    def train(self, overrides: tuple[str, ...] = ()) -> Job:
        return self.start_job("train", "workbench.session.tasks:train_policy", overrides=overrides)

    def export(self) -> Job:
        return self.start_job("export", "workbench.session.tasks:export_latest")

    def run_export(self, bundle: str, episodes: int = 5) -> Job:
        return self.start_job(
            "run", "workbench.session.tasks:run_bundle", bundle=bundle, episodes=episodes
        )

    def stop_job(self, name: str) -> None:
        if name in self.jobs:
            self.jobs[name].stop()

    def poll_jobs(self) -> None:
        for name, job in list(self.jobs.items()):
            for event in job.poll():
                if event.kind == "snapshot":
                    self.preview_policy = NumpyPolicy(event.data["state"], event.data["hidden"])
                if event.kind == "error":
                    self.emit("error", message=f"{name} failed: {event.data.get('message')}")
                self.emit("job", name=name, event=event)

    def close(self) -> None:
        for job in self.jobs.values():
            if job.running:
                job.kill()
        if self.recorder is not None:
            self.stop_recording(save=False)
        if self.env is not None:
            self.env.close()
        if self._scratch is not None:
            self._scratch[1].close()
            self._scratch[2].close()
        self.workspace.close()
