"""The application state behind the GUI, with no Qt in it.

Views subscribe to named events (``scene``, ``frame``, ``recording``, ``episodes``,
``timeline``, ``preferences``, ``goals``, ``job``, ``error``) and call methods; the session owns
the viewport's env, the recorder, teleop, drag-to-perturb, the episode browser, the background
jobs and the workspace. A GUI timer calls :meth:`tick` and :meth:`poll_jobs`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from workbench.data.replay import EpisodeReplay, env_for
from workbench.data.workspace import Workspace
from workbench.envs.env import WorkbenchEnv, make_env, scene_info
from workbench.feedback.sampling import Segment, sample_group, sample_pair
from workbench.registry import SCENES
from workbench.session.browser import EpisodeBrowser
from workbench.session.jobs import Job, JobEvent
from workbench.sim.render import CameraRenderer
from workbench.teleop.keyboard import KeyboardTeleop, controls_help
from workbench.teleop.perturb import Perturbation
from workbench.teleop.pointer import CameraPose, PointerTarget
from workbench.teleop.recorder import Recorder, record_demo_set

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


# Where a new workspace opens: an arm the keyboard drives, a task a person can show in seconds.
FIRST_SCENE = "Push"


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
        self._scratch: tuple[Any, WorkbenchEnv, dict[tuple[int, int], CameraRenderer],
                             EpisodeReplay] | None = None
        self._models: dict[int, Any] = {}  # loaded reward models by id
        self.perturbation = Perturbation()
        self.browser = EpisodeBrowser(self)
        names = self.scene_names()
        newest = self.workspace.newest_scene()
        self.set_scene(scene or (newest if newest in names else FIRST_SCENE))

    def open_workspace(self, path: str | Path) -> None:
        """Switch to another workspace folder (created if empty). Refused while a job runs; the
        current workspace stays open if the new one cannot be opened."""
        running = [name for name, job in self.jobs.items() if job.running]
        if running:
            raise RuntimeError(f"{', '.join(running)} still running; stop it before switching "
                               "workspaces")
        workspace = Workspace.open(path, create=True)  # raises before anything changes
        if self.recorder is not None:
            self.stop_recording(save=False)
        self.browser.close()
        self.workspace.close()
        self.workspace = workspace
        self._models.clear()
        self.browser = EpisodeBrowser(self)
        self.jobs.clear()
        self.emit("workspace", path=str(workspace.root))
        self.emit("scene", name=self.scene)
        self.emit("episodes")

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
        self.browser.episode = None
        if self.env is not None:
            self.release_object()
            self.env.close()
        self.env = make_env(name)
        self.scene = name
        self.preview_policy = None
        self.obs, _ = self.env.reset(seed=self.episode_seed)
        self.emit("scene", name=name)

    def controls_help(self) -> str:
        """The keyboard's controls in the current scene."""
        return controls_help(self.env.controller.labels,
                             pointer=hasattr(self.env.robot, "ee_position"))

    def reset_episode(self) -> None:
        self.episode_seed += 1
        self.obs, _ = self.env.reset(seed=self.episode_seed)
        self.emit("frame", info={})

    # -- the live loop -----------------------------------------------------------------------
    def tick(self) -> dict[str, Any] | None:
        """Advance one control step: teleop while recording, else a replayed episode, else the
        preview policy; an object dragged in the viewport is pulled meanwhile (and the physics
        runs for it even when nothing else moves)."""
        self.perturbation.apply(self.env.physics)
        if self.recorder is not None and self.teleop is not None:
            self.obs, _, terminated, truncated, info = self.recorder.step(self.teleop_action())
            if terminated or truncated:
                self.stop_recording(save=True)
        elif self.browser.episode is not None:
            self.browser.advance()
            return None
        elif self.preview_policy is not None and self.playing:
            self.obs, _, terminated, truncated, info = self.env.step(
                self.preview_policy.act(self.obs)
            )
            if terminated or truncated:
                self.reset_episode()
        elif self.perturbation.active:
            self.env.physics.step(self.env.n_substeps)  # the robot holds its last command
            info = self.env.task.evaluate(self.env.physics)
            info = {"progress": info["progress"], "success": info["success"]}
        else:
            return None
        info = {**info, **self.live_reward()}
        self.emit("frame", info=info)
        return info

    # -- drag-to-perturb ---------------------------------------------------------------------
    def grab_object(self, camera: CameraPose, x: float, y: float, width: int,
                    height: int) -> int | None:
        """Grab the movable body under a viewport pixel; None when there is none there."""
        if self.browser.episode is not None:
            return None  # a replayed frame is history, not a live scene
        return self.perturbation.grab_at(self.env.physics, camera, x, y, width, height)

    def drag_object(self, camera: CameraPose, x: float, y: float, width: int, height: int,
                    vertical: bool = False) -> None:
        if self.perturbation.active:
            self.perturbation.drag(camera, x, y, width, height, vertical)

    def release_object(self) -> None:
        self.perturbation.release(self.env.physics)

    # -- the learned reward, live ------------------------------------------------------------
    def reward_model(self, family: str | None = None):
        """The scene's latest reward model (of ``family`` if given), loaded once, or None."""
        models = [m for m in self.workspace.models(self.scene)
                  if family is None or m["family"] == family]
        if not models:
            return None
        latest = models[-1]
        if latest["id"] not in self._models:
            import torch

            from workbench.rewards.artifact import load_reward_model

            # This process is the interactive one: its per-tick inference of a small model on
            # one thread leaves the other cores to the worker jobs (training, fitting).
            torch.set_num_threads(1)
            self._models[latest["id"]] = load_reward_model(latest["path"], device="cpu")
        return self._models[latest["id"]]

    def live_reward(self) -> dict[str, float]:
        """The latest state-based reward model's value at the viewport's current state (for the
        overlay); empty when there is none."""
        model = self.reward_model()
        if model is None or model.cameras:
            return {}  # no model, or one over camera frames
        value = model.score(self.env.state_vector()[None])
        return {"learned_reward": float(np.asarray(value).ravel()[0])}

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
        """Record the scene's scripted demos and failed takes here and now (scripts, tests);
        the GUI uses :meth:`record_scripted_job`. See ``record_demo_set``."""
        ids = record_demo_set(self.workspace, self.scene, episodes, with_failures, on_progress)
        self.emit("episodes")
        return ids

    def record_scripted_job(self, episodes: int, with_failures: bool = True) -> Job:
        """The same in a worker (``record`` job): progress events, cancellable; the episodes
        saved before a cancel stay."""
        return self.start_job("record", "workbench.session.tasks:record_demos",
                              episodes=episodes, with_failures=with_failures)

    def episodes(self) -> list[dict[str, Any]]:
        return self.workspace.episodes(scene=self.scene)

    def frame_of(self, episode_id: int, t: int, size: tuple[int, int] = (240, 180)) -> np.ndarray:
        """Render frame ``t`` of a recorded episode from its saved simulator state (in a
        scratch env, with the episode's own colours and sizes)."""
        episode = self.workspace.load_episode(episode_id)
        key = (episode.meta["scene"], episode.meta["meta"].get("robot"))
        if self._scratch is None or self._scratch[0] != key:
            self._close_scratch()
            env = env_for(episode)
            self._scratch = (key, env, {}, EpisodeReplay(env))
        _, env, renderers, replay = self._scratch
        if size not in renderers:  # one per size: thumbnails, clips and segments differ
            renderers[size] = CameraRenderer(env.physics.model, *size)
        renderer = renderers[size]
        replay.show(episode, t)
        camera = env.task.cameras[0] if env.task.cameras else -1
        return renderer.rgb(env.physics.data, camera)

    # -- rank and goal -----------------------------------------------------------------------
    def preference_model(self):
        """The scene's latest preference ensemble (loaded once per model), or None."""
        return self.reward_model("preference")

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

    def next_group(self, count: int = 4, length: int = 20) -> list[Segment]:
        """``count`` clips to rank best to worst (a Plackett-Luce query)."""
        return sample_group(self.workspace, self.scene, count, length, self.rng)

    def answer_ranking(self, segments: list[Segment], order: list[int]) -> int:
        """Store a ranking: ``order`` lists indices into ``segments``, best first."""
        pref = self.workspace.add_preference([tuple(s) for s in segments], list(order),
                                             kind="ranking", teacher="user")
        self.emit("preferences", count=len(self.workspace.preferences()))
        return pref

    def branch_pair(self, episode_id: int, t: int, length: int = 25,
                    noise: float = 0.5) -> tuple[Segment, Segment]:
        """Two continuations of frame ``t`` of an episode, saved as episodes, as a pair to rank.
        They follow the training preview policy when there is one, else the recorded actions,
        each with its own action noise."""
        from workbench.feedback.branching import branch_episodes

        policy = None
        if self.preview_policy is not None:
            preview = self.preview_policy
            policy = lambda env, obs: preview.act(obs)  # noqa: E731
        first, second = branch_episodes(self.workspace, episode_id, t, length, 2, noise,
                                        policy, seed=int(self.rng.integers(1 << 31)))
        self.emit("episodes")
        self.emit("branched", pair=(first, second))
        return first, second

    def label_impact(self):
        """How the labels given since the latest preference reward was fitted compare with what
        it predicts (see :func:`workbench.rewards.inspect.label_impact`), or None."""
        from workbench.rewards.inspect import label_impact

        model = self.preference_model()
        if model is None:
            return None
        fitted = [m for m in self.workspace.models(self.scene) if m["family"] == "preference"][-1]
        ids = {row["id"] for row in self.episodes()}
        return label_impact(model, fitted["created"], self.workspace, ids)

    def extreme_segments(self, length: int = 20, count: int = 3):
        """The segments the latest reward likes most and least (best, worst), or None."""
        from workbench.rewards.inspect import extreme_segments

        model = self.reward_model()
        if model is None:
            return None
        return extreme_segments(model, self.workspace, self.scene, length, count)

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

    def fit_reward(self, family: str = "progress", config: Any = None) -> Job:
        """Fit a reward of ``family`` on this scene in a worker, with ``config`` (an instance
        of the family's config class) or the family's defaults for the scene."""
        return self.start_job("reward", "workbench.session.tasks:fit_reward", family=family,
                              config=config)

    def train(self, config: Any = None, resume_dir: str | None = None) -> Job:
        """Train a policy in a worker with ``config`` (a ``RunConfig`` of this scene; default:
        the defaults), or continue the stopped run in ``resume_dir``."""
        if config is not None and config.scene != self.scene:
            raise ValueError(f"this run is for {config.scene}, the open scene is {self.scene}")
        return self.start_job("train", "workbench.session.tasks:train_policy", config=config,
                              resume_dir=resume_dir)

    def train_toward(self, goal: str) -> Job:
        """Train on a goal sentence (its grounded reward, or the run's default), refused before
        a worker starts when the scene cannot show what it names ("no blue cube")."""
        from workbench.rewards.language.grounding import ground
        from workbench.rl.run import RunConfig

        task = self.env.task
        task.check_colours(ground(goal, task).colours)
        return self.train(RunConfig(scene=self.scene, goal=goal))

    def resumable_run(self) -> dict[str, Any] | None:
        """The scene's newest run that stopped before its budget and kept a checkpoint."""
        from workbench.rl.run import resumable_runs

        runs = resumable_runs(self.workspace, self.scene)
        return runs[-1] if runs else None

    def continue_training(self) -> Job:
        """Continue the newest stopped run from its checkpoint (also after an app restart)."""
        run = self.resumable_run()
        if run is None:
            raise RuntimeError(f"no stopped {self.scene} run with a checkpoint to continue")
        return self.train(resume_dir=run["path"])

    def goal_rewards(self, goal: str) -> Job:
        """Score the recorded episodes with a goal sentence, in a worker (``goal`` job)."""
        if not goal.strip():
            raise ValueError("type a goal sentence first, e.g. 'push the red cube onto the pad'")
        return self.start_job("goal", "workbench.session.tasks:goal_rewards", goal=goal)

    def pause_job(self, name: str) -> None:
        job = self.jobs.get(name)
        if job is not None and job.running:
            job.pause()
            self.emit("job", name=name, event=JobEvent("paused"))

    def resume_job(self, name: str) -> None:
        job = self.jobs.get(name)
        if job is not None and job.paused:
            job.resume()
            self.emit("job", name=name, event=JobEvent("resumed"))

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
                if name == "record" and event.kind in ("done", "stopped"):
                    self.emit("episodes")
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
        self._close_scratch()
        self.workspace.close()

    def _close_scratch(self) -> None:
        if self._scratch is not None:
            for renderer in self._scratch[2].values():
                renderer.close()
            self._scratch[1].close()
            self._scratch = None
