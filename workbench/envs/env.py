"""``WorkbenchEnv``: robot + scene + observation mode + control mode as a gymnasium ``Env``.

The loop stays dumb; the task owns the decisions. Each ``step``: clip the action, let the
controller write the controls, advance ``control_dt`` of physics, ask the task for observations,
ground truth and termination. Physics that diverges ends the episode (``info["diverged"]``).

Observation modes:
    ``state``: one flat float32 vector, the declared robot then task features in order.
    ``pixels``: a dict with ``state`` and one uint8 (H, W, 3) image per camera (plus
        ``<camera>/depth`` float32 (H, W, 1) images when ``depth=True``).

``point_cloud=N`` (pixels mode) adds ``points``: N points fused from every camera's depth,
cropped to the robot's workspace, voxel-downsampled and expressed in the robot base frame.

``randomization`` (a :class:`~workbench.sim.randomization.DomainRandomization`, a dict of its
fields, or ``"robot"``: the ranges the robot declares) turns on domain randomisation;
``info["randomization"]`` at reset says what was drawn.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from workbench.registry import ROBOTS, SCENES, scene_robot
from workbench.robot import Robot
from workbench.sentences import checked_ground, rebind
from workbench.sim.compose import compile_spec, compose
from workbench.sim.control import ActuatorRangeController
from workbench.sim.mirror import Mirror, joined
from workbench.sim.physics import Physics, PhysicsDivergence
from workbench.sim.pointcloud import depth_to_points, fuse_point_cloud
from workbench.sim.randomization import DomainRandomization, Randomizer
from workbench.sim.render import MODEL_FRAMES, CameraRenderer
from workbench.task import Task

OBS_MODES = ("state", "pixels")


def box(space: gym.Space) -> gym.spaces.Box:
    """``space`` as the Box it must be (flat observations, continuous actions), or a TypeError
    saying so: what the learners accept."""
    if not isinstance(space, gym.spaces.Box):
        raise TypeError(f"expected a Box space (continuous values), got {space}")
    return space


class WorkbenchEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}
    action_space: gym.spaces.Box  # actions in [-1, 1] per controller input

    def __init__(
        self,
        scene: str,
        obs_mode: str = "state",
        control_mode: str | None = None,
        cameras: tuple[str, ...] | None = None,
        image_size: int = 84,
        depth: bool = False,
        difficulty: float = 0.0,
        render_mode: str | None = None,
        render_size: tuple[int, int] = (480, 360),
        randomization: DomainRandomization | dict | str | None = None,
        control_dt: float | None = None,
        point_cloud: int = 0,
        robot: str | None = None,
        goal: str | None = None,
        draw_choices: bool = False,
    ):
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        self.scene_name = scene
        self.robot_name = scene_robot(scene, robot)
        self.task: Task = SCENES.load(scene)(difficulty=difficulty)
        self.robot: Robot = ROBOTS.load(self.robot_name)()
        self.control_mode = control_mode or self.task.default_control_mode or (
            self.robot.default_control_mode
        )
        self.robot.check_mode(self.control_mode)
        self.task.control_mode = self.control_mode

        spec = compose(self.task.arena_spec(self.robot), self.robot.spec(),
                       prefix=self.robot.prefix, offset=self.robot.mount_offset)
        self.physics = Physics(compile_spec(spec))
        self.robot.bind(self.physics)
        self.task.bind(self.physics, self.robot)
        self.controller = self.robot.make_controller(self.control_mode, self.physics)
        if randomization == "robot":  # the ranges the robot's author names for sim-to-real
            randomization = dict(self.robot.randomization)
        elif isinstance(randomization, str):
            raise ValueError(f"randomization must be 'robot', a dict of ranges or None, got "
                             f"{randomization!r}")
        if not isinstance(randomization, DomainRandomization):
            randomization = DomainRandomization.from_dict(randomization)
        self.randomization = randomization
        self._randomizer = (
            Randomizer(self.physics.model, randomization) if randomization.enabled else None
        )
        self._pending_actions: deque[np.ndarray] = deque()
        timestep = self.physics.model.opt.timestep
        if control_dt is not None and control_dt < timestep:
            raise ValueError(f"control_dt {control_dt} is below the physics timestep {timestep}")
        self.n_substeps = max(1, round((control_dt or self.task.control_dt) / timestep))
        self.control_dt = self.n_substeps * timestep
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.control_dt)}

        self.obs_mode = obs_mode
        self.cameras = tuple(cameras) if cameras is not None else self.task.cameras
        self.image_size = image_size
        self.depth = depth
        self.point_cloud = point_cloud
        self.render_mode = render_mode
        self.render_size = render_size
        self._renderer: CameraRenderer | None = None
        model = self.physics.model
        self._has_mount = any(model.site(i).name == "robot_mount" for i in range(model.nsite))
        self._view_renderer: CameraRenderer | None = None
        self.goal: str | None = None
        self._episode_goal: str | None = None
        if goal:
            self.set_goal(goal, choices=not draw_choices)
        self._features = {**self.robot.features(), **self.task.features()}
        self.state_dim = sum(self._features.values())

        self.action_space = gym.spaces.Box(-1.0, 1.0, (self.controller.action_dim,), np.float32)
        state_space = gym.spaces.Box(-np.inf, np.inf, (self.state_dim,), np.float32)
        if obs_mode == "state":
            self.observation_space = state_space
        else:
            missing = set(self.cameras) - set(self._camera_names())
            if missing:
                raise ValueError(
                    f"unknown cameras {sorted(missing)}; this scene has {self._camera_names()}"
                )
            spaces: dict[str, gym.Space] = {"state": state_space}
            size = (image_size, image_size)
            for cam in self.cameras:
                spaces[cam] = gym.spaces.Box(0, 255, (*size, 3), np.uint8)
                if depth:
                    spaces[f"{cam}/depth"] = gym.spaces.Box(0, np.inf, (*size, 1), np.float32)
            if point_cloud:
                spaces["points"] = gym.spaces.Box(-np.inf, np.inf, (point_cloud, 3), np.float32)
            self.observation_space = gym.spaces.Dict(spaces)
        self._steps = 0
        self._episode_start: dict[str, Any] | None = None
        self._term_keys = {name: f"ref/{name}" for name in self.task.reference_weights}
        self._stage_keys = {name: f"stage/{name}" for name in self.task.stage_names}
        self._state = np.zeros(self.state_dim, np.float32)
        self._slices = []
        offset = 0
        for name, size in self._features.items():
            self._slices.append((name, slice(offset, offset + size)))
            offset += size

    # -- goal sentences -----------------------------------------------------------------------
    def set_goal(self, sentence: str | None, choices: bool = True) -> None:
        """Episodes from the next reset on show what ``sentence`` names (the red cube, the
        blue pad); ``choices=False`` leaves the scene's goal choices (``Task.goal_choices``)
        drawn per episode, as a goal-conditioned policy trains. None: everything drawn."""
        if not sentence:
            self.goal = None
            self.task.request_colours({})
            return
        colours = checked_ground(sentence, self.task).colours  # request_colours checks them
        if not choices:
            colours = {r: c for r, c in colours.items() if r not in self.task.goal_choices}
        self.task.request_colours(colours)
        self.goal = sentence

    def episode_goal(self) -> str | None:
        """The goal sentence of this episode: the set one, naming the choices the scene drew
        when they were left open (``draw_choices``), as a goal-conditioned reward scores it.
        Worded once when the episode begins (it is asked on every rendered step)."""
        return self._episode_goal

    def _word_episode_goal(self) -> str | None:
        if not self.goal:
            return None
        drawn = self.task.object_colours(self.physics)
        return rebind(self.goal, self.task,
                      {r: drawn[r] for r in self.task.goal_choices if r in drawn})

    @property
    def viewer(self) -> dict[str, Any]:
        """The free camera this scene opens on with this robot (``Task.viewer``, moved in on a
        small arm's table): the app's viewport and films start from it."""
        return self.robot.scene_view(self.task.viewer)

    # -- declared features ----------------------------------------------------------------
    @property
    def features(self) -> dict[str, int]:
        """Names and sizes of the entries of the state vector, in order."""
        return dict(self._features)

    @property
    def feature_notes(self) -> dict[str, str]:
        """What the features' numbers mean, where the robot or the scene says (by name)."""
        notes = {**self.robot.feature_notes, **self.task.feature_notes}
        return {name: notes[name] for name in self._features if name in notes}

    def mirror(self) -> Mirror | None:
        """The state vector's left-right mirror symmetry, where both the robot and the scene
        declare one (:meth:`Robot.mirror`, :meth:`Task.mirror`); None where either does not.
        A reward told it pays a state and its mirror image the same."""
        robot, task = self.robot.mirror(), self.task.mirror()
        if robot is None or task is None:
            return None
        return joined(self._features, {**robot, **task})

    def snapshot(self) -> np.ndarray:
        """Everything needed to continue exactly from here: simulator state, controller state
        and the commands still in flight under action latency.

        The episode's variations (sizes, masses, colours, randomisation) come from the reset
        seed, so restore a snapshot after ``reset(seed=...)`` with the seed it was taken under.
        """
        pending = [np.ravel(a) for a in self._pending_actions]
        return np.concatenate([self.physics.snapshot(), self.controller.get_state(), *pending])

    def restore(self, state: np.ndarray) -> None:
        state = np.asarray(state, dtype=np.float64)
        latency, dim = self.randomization.action_latency, self.action_space.shape[0]
        if latency:
            queued = state[len(state) - latency * dim :].reshape(latency, dim)
            self._pending_actions = deque(queued.copy())
            state = state[: len(state) - latency * dim]
        size = len(state) - len(self.controller.get_state())
        self.physics.restore(state[:size])
        self.controller.set_state(state[size:])

    def observe(self):
        """The observation of the current state, e.g. after :meth:`restore`."""
        return self._observe()

    @property
    def elapsed_steps(self) -> int:
        """Control steps taken in the current episode."""
        return self._steps

    def _camera_names(self) -> list[str]:
        model = self.physics.model
        return [model.camera(i).name for i in range(model.ncam)]

    # -- gymnasium API ----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if options and "goal" in options:
            self.set_goal(options["goal"])
        # Where this episode's draws start: an exact checkpoint replays them (get_state).
        self._episode_start = {"rng": self.np_random.bit_generator.state,
                               "difficulty": self.task.difficulty,
                               "colours": dict(self.task.requested_colours)}
        self._begin_episode()
        if options and "state" in options:  # exact replay / branching from a saved state
            self.restore(options["state"])
        self._steps = 0
        obs = self._observe()
        info = self._info(diverged=False)
        if self._randomizer is not None:
            info["randomization"] = self._randomizer.record()
        return obs, info

    def _begin_episode(self) -> None:
        """The episode's variations and initial state, drawn from ``np_random``."""
        self.physics.reset()
        if self._randomizer is not None:  # before the scene's own variations, which win
            self._randomizer.apply(self.np_random)
            self.physics.recompute_constants()
        self.robot.reset(self.physics, self.np_random)
        self.task.initialize_episode(self.physics, self.np_random)
        self.physics.forward()
        self.controller.reset(self.physics)
        neutral = np.zeros(self.action_space.shape)
        self._pending_actions = deque(neutral for _ in range(self.randomization.action_latency))
        self._episode_goal = self._word_episode_goal()

    # -- exact checkpoints (workbench.rl.checkpoint): plain values and arrays, no pickles --
    def get_state(self) -> dict[str, Any]:
        if self._episode_start is None:
            raise RuntimeError("reset the env before taking its state")
        return {"episode_start": self._episode_start, "rng": self.np_random.bit_generator.state,
                "snapshot": self.snapshot(), "steps": self._steps,
                "difficulty": self.task.difficulty, "goal": self.goal,
                "colours": dict(self.task.requested_colours)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue exactly where :meth:`get_state` was taken: the episode's variations are
        drawn again from the generator state they were drawn from, then the simulator,
        controller and generator states are put back."""
        start = state["episode_start"]
        self.np_random.bit_generator.state = start["rng"]
        self.task.difficulty = float(start["difficulty"])
        self.task.request_colours(start["colours"])
        self._begin_episode()
        self.restore(state["snapshot"])
        self._steps = int(state["steps"])
        self.task.difficulty = float(state["difficulty"])
        self.task.request_colours(state["colours"])
        self.goal = state["goal"]
        self.np_random.bit_generator.state = state["rng"]
        self._episode_start = start

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        action = np.minimum(np.maximum(np.asarray(action, dtype=np.float64), -1.0), 1.0)
        if action.shape != self.action_space.shape:
            raise ValueError(
                f"action has shape {action.shape}; {self.scene_name} with control mode "
                f"{self.control_mode!r} takes {self.action_space.shape} "
                f"({', '.join(self.controller.labels)})"
            )
        if self._pending_actions:  # action latency: act on the command from k ticks ago
            self._pending_actions.append(action)
            action = self._pending_actions.popleft()
        before = self.physics.snapshot()
        diverged = False
        self.controller.apply(self.physics, action)
        try:
            self.physics.step(self.n_substeps)
        except PhysicsDivergence:
            self.physics.restore(before)  # keep observations finite; the episode ends
            diverged = True
        self.task.after_step(self.physics)
        self._steps += 1
        obs = self._observe()
        info = self._info(diverged)
        reward = info["reference_reward"]
        terminated = diverged or self.task.should_terminate(self.physics)
        truncated = self._steps >= self.task.episode_steps and not terminated
        return obs, reward, terminated, truncated, info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        if self._view_renderer is None:
            self._view_renderer = CameraRenderer(self.physics.model, *self.render_size)
        return self._view_renderer.rgb(self.physics.data, self.cameras[0] if self.cameras else -1)

    def close(self) -> None:
        for renderer in (self._renderer, self._view_renderer):
            if renderer is not None:
                renderer.close()
        self._renderer = self._view_renderer = None

    def contract(self) -> dict[str, Any]:
        """The observation/action contract an exported policy of this env carries."""
        from workbench.envs.registration import env_id

        hardware = self.robot.hardware_mapping(self.control_mode, self.control_dt)
        return {
            "scene": self.scene_name,
            "env_id": env_id(self.scene_name),
            "robot": self.robot_name,
            "control_mode": self.control_mode,
            "control_rate_hz": 1.0 / self.control_dt,
            "observation_features": self.features,
            "action_labels": list(self.controller.labels),
            "hardware": {
                "joint_order": list(hardware.joint_order),
                "joint_units": hardware.joint_units,
                "joint_ranges": [list(r) for r in hardware.joint_ranges],
                "joint_speed_limit": hardware.joint_speed_limit,
                "zero_offsets": list(hardware.zero_offsets),
                "directions": list(hardware.directions),
                "command": hardware.command,
                "measured": self._measured_command(),
            },
            "difficulty": self.task.difficulty,
            "goal": self.goal,
        }

    def _measured_command(self) -> dict[str, list] | None:
        """How a runner reads the command that holds the robot where it is from the first
        observation: ``action[actions] = (obs[observation_index] - offset) / scale``."""
        measured = self.robot.measured_command(self.control_mode)
        if measured is None or not isinstance(self.controller, ActuatorRangeController):
            return None
        feature, actions = measured
        start = dict(self._slices)[feature].start
        index = list(actions)
        return {"actions": index, "observation_index": [start + i for i in range(len(index))],
                "offset": self.controller.offset[index].tolist(),
                "scale": self.controller.scale[index].tolist()}

    def seen_features(self) -> dict[str, int]:
        """The robot's features and the task's as its cameras show them (``Task.seen_features``):
        the labels an image encoder is pretrained on."""
        return {**self.robot.features(), **self.task.seen_features()}

    def seen_state_vector(self) -> np.ndarray:
        """:meth:`seen_features`' values, in order, as one float32 vector."""
        parts = {**self.robot.observe(self.physics), **self.task.seen_state(self.physics)}
        return np.concatenate([np.asarray(parts[name], np.float32).reshape(size)
                               for name, size in self.seen_features().items()])

    # -- internals ---------------------------------------------------------------------------
    def state_vector(self) -> np.ndarray:
        """The declared features, in order, as one float32 vector (a fresh array)."""
        parts = self.robot.observe(self.physics)
        parts.update(self.task.observe(self.physics))
        state = self._state
        for name, where in self._slices:
            state[where] = parts[name]
        return state.copy()

    def randomization_record(self) -> dict[str, Any] | None:
        """What domain randomisation drew for this episode (None when it is off)."""
        return self._randomizer.record() if self._randomizer is not None else None

    def _observe(self):
        state = self.state_vector()
        if self.randomization.obs_noise:  # sensor noise on what the policy sees, not the truth
            state += self.np_random.normal(0.0, self.randomization.obs_noise, state.shape).astype(
                np.float32
            )
        if self.obs_mode == "state":
            return state
        if self._renderer is None:
            self._renderer = CameraRenderer(self.physics.model, self.image_size, self.image_size,
                                            MODEL_FRAMES)
        obs: dict[str, np.ndarray] = {"state": state}
        data = self.physics.data
        clouds = []
        for cam in self.cameras:
            obs[cam] = self._renderer.rgb(data, cam)
            if self.depth or self.point_cloud:
                depth = self._renderer.depth(data, cam)
                if self.depth:
                    obs[f"{cam}/depth"] = depth[..., None]
                if self.point_cloud:
                    clouds.append(depth_to_points(self.physics.model, data, cam, depth))
        if self.point_cloud:
            obs["points"] = self._points(clouds)
        return obs

    def _points(self, clouds: list[np.ndarray]) -> np.ndarray:
        """Fused cloud cropped to the robot's workspace, voxel-downsampled, in the robot base
        frame, resampled to a fixed count (a gymnasium space needs a fixed shape)."""
        low = getattr(self.robot, "workspace_low", None)
        high = getattr(self.robot, "workspace_high", None)
        bounds: Any = ((*low[:2], -0.01), high) if low is not None else None
        mount = self.physics.data.site("robot_mount") if self._has_mount else None
        points = fuse_point_cloud(
            clouds, bounds=bounds, voxel_size=0.01,
            frame_origin=None if mount is None else mount.xpos.copy(),
            frame_rotation=None if mount is None else mount.xmat.reshape(3, 3).copy(),
        )
        n = self.point_cloud
        if len(points) == 0:
            return np.zeros((n, 3), np.float32)
        index = self.np_random.choice(len(points), size=n, replace=len(points) < n)
        return points[index]

    def _info(self, diverged: bool) -> dict[str, Any]:
        truth = self.task.evaluate(self.physics)
        terms = truth["terms"]
        info: dict[str, Any] = {
            "success": truth["success"],
            "progress": truth["progress"],
            "reference_reward": self.task.reference_reward(terms),
            "diverged": diverged,
        }
        for name, value in terms.items():
            info[self._term_keys[name]] = value
        for name, value in truth["stages"].items():
            info[self._stage_keys[name]] = bool(value)
        return info


def declared_mirror(env: Any) -> Mirror | None:
    """:meth:`WorkbenchEnv.mirror` of a possibly wrapped env; None for other environments."""
    inner = getattr(env, "unwrapped", env)
    return inner.mirror() if isinstance(inner, WorkbenchEnv) else None


def env_label(env: Any) -> str:
    """What a message calls a possibly wrapped env: "Reach with so101", or a gymnasium id."""
    inner = getattr(env, "unwrapped", env)
    if isinstance(inner, WorkbenchEnv):
        return f"{inner.scene_name} with {inner.robot_name}"
    return getattr(getattr(inner, "spec", None), "id", None) or type(inner).__name__


def make_env(scene: str, **kwargs: Any) -> WorkbenchEnv:
    """Construct a scene's env directly (no gymnasium wrappers), e.g. for recording."""
    return WorkbenchEnv(scene, **kwargs)


def scene_info(scene: str) -> dict[str, Any]:
    """Name, gymnasium id, tags, description, cameras, whether it has a scripted demonstrator
    (``record --scripted``, the loop) and the other robots it is laid out for, without building
    its model."""
    from workbench.envs.registration import env_id

    task_cls = SCENES.load(scene)
    return {
        "name": scene,
        "id": env_id(scene),
        "tags": list(task_cls.tags),
        "robot": task_cls.robot,
        "description": task_cls.description,
        "cameras": list(task_cls.cameras),
        "demonstrator": task_cls.scripted_policy is not Task.scripted_policy,
        "stand_ins": sorted(task_cls.stand_ins),  # other robots it is laid out for
    }
