"""Camera frames beside the state: what a reward model over frames scores while a policy that
sees states trains.

``RenderedFrames`` adds ``info["frames"]``, the named cameras' RGB frames (V, H, W, 3) uint8, to
every reset and step. In a SAME_STEP vector env the frames of a step that ended an episode
arrive in ``info["final_info"]["frames"]`` and the new episode's first frames in
``info["frames"]``, so the learned-reward wrapper scores exactly the states a state reward
would.

Where the env has a goal sentence, ``info["goal"]`` is this episode's sentence
(:meth:`WorkbenchEnv.episode_goal`: the choice the scene drew named), which a goal-conditioned
frame reward scores the frames towards.

With ``label_states`` (set through ``VectorEnv.set_attr`` by a run that refits what its reward
reads from frames), each rendered step also carries ``info["seen_state"]``, the state the
frames show (:meth:`WorkbenchEnv.seen_state_vector`).

``render_next`` (set per sub-env through ``VectorEnv.set_attr``) skips rendering where a
reward renders only some states (:mod:`workbench.rl.distill`); those steps carry no frames, but
still their sentence (the distilled student scores them towards it).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from workbench.envs.env import WorkbenchEnv
from workbench.sim.render import MODEL_FRAMES, CameraRenderer


class RenderedFrames(gym.Wrapper):
    def __init__(self, env: gym.Env, cameras: tuple[str, ...], size: int):
        super().__init__(env)
        base = env.unwrapped
        if not isinstance(base, WorkbenchEnv):
            raise TypeError(f"RenderedFrames renders a workbench scene, not {base}")
        self.base = base
        model = base.physics.model
        known = [model.camera(i).name for i in range(model.ncam)]
        missing = [c for c in cameras if c not in known]
        if missing:
            raise ValueError(f"cameras {missing} are not in this scene; it has {known}")
        self.cameras = tuple(cameras)
        self.size = int(size)
        self._renderer: CameraRenderer | None = None
        self.render_next = True
        self.label_states = False

    def frames(self) -> np.ndarray:
        physics = self.base.physics
        if self._renderer is None:  # made on first use: a GL context per process
            self._renderer = CameraRenderer(physics.model, self.size, self.size, MODEL_FRAMES)
        return np.stack([self._renderer.rgb(physics.data, c) for c in self.cameras])

    def goal(self) -> str | None:
        return self.base.episode_goal()

    def _views(self, info: dict[str, Any]) -> dict[str, Any]:
        goal = self.goal()
        if goal:
            info = {**info, "goal": goal}
        if not self.render_next:
            return info
        info = {**info, "frames": self.frames()}
        # The state the frames show, as the simulator knows it: the labels of a run that
        # refits what its reward reads from frames (workbench.rewards.perceptual.reader).
        return {**info, "seen_state": self.base.seen_state_vector()} if self.label_states else info

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        return obs, self._views(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._views(info)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        super().close()

    # Exact checkpoints (workbench.rl.checkpoint): the renderer is made again.
    def get_state(self) -> dict[str, bool]:
        return {"render_next": self.render_next}

    def set_state(self, state: dict[str, bool]) -> None:
        self.render_next = bool(state["render_next"])
