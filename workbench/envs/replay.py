"""Show a recorded episode in an env: the scene as it was at any frame.

An episode stores simulator snapshots, but its variations (object colours, sizes, masses,
randomisation) come from the reset seed, so the env is reset with the episode's seed and
difficulty first and the snapshot restored after (see ``WorkbenchEnv.snapshot``). Colours a
sentence chose at recording time (``env.set_goal``) are not the seed's draw: the reset asks for
the colours the episode was recorded with.
"""

from __future__ import annotations

import numpy as np

from workbench.data.episode import Episode
from workbench.envs.env import WorkbenchEnv, make_env
from workbench.sentences import ground
from workbench.task import Task


def env_for(episode: Episode) -> WorkbenchEnv:
    """A fresh env built the way the episode was recorded (scene, robot, difficulty)."""
    meta = episode.meta["meta"]
    kwargs = {"difficulty": meta.get("difficulty", 0.0)}
    if meta.get("robot"):
        kwargs["robot"] = meta["robot"]
    return make_env(episode.meta["scene"], **kwargs)


def recorded_colours(episode: Episode, task: Task) -> dict[str, str]:
    """The colours the episode showed where the scene draws them: stored with it since they
    were recorded, else those its goal text names (the recorder words the goal from them)."""
    shown = episode.meta["meta"].get("colours")
    if not isinstance(shown, dict):
        goal = episode.meta.get("goal")
        try:
            shown = ground(goal, task).colours if isinstance(goal, str) and goal else {}
        except ValueError:  # a sentence the scene cannot read: the seed's draw
            shown = {}
    return {role: colour for role, colour in shown.items()
            if colour in task.goal_colours.get(role, ())}


class EpisodeReplay:
    """Put ``env`` into the states of recorded episodes, frame by frame.

    Example:
        >>> replay = EpisodeReplay(env)
        >>> replay.show(workspace.load_episode(3), t=40)  # env.physics now holds frame 40
    """

    def __init__(self, env: WorkbenchEnv):
        self.env = env
        self._prepared: tuple[int, int | None, float] | None = None

    def prepare(self, episode: Episode) -> None:
        """Reset to the episode's variations (once per episode; cheap after that). The env's
        own difficulty and requested colours are put back after the draw, so that its next
        episode (the app's live scene after a replay) is laid out as before."""
        seed = episode.meta["seed"]
        task = self.env.task
        difficulty = episode.meta["meta"].get("difficulty", task.difficulty)
        key = (episode.id, seed, difficulty)
        if self._prepared != key:
            own_difficulty, requested = task.difficulty, dict(task.requested_colours)
            task.difficulty = difficulty
            task.request_colours(recorded_colours(episode, task))
            try:
                self.env.reset(seed=seed)
            finally:
                task.difficulty = own_difficulty
                task.request_colours(requested)
            self._prepared = key

    def show(self, episode: Episode, t: int) -> int:
        """Restore frame ``t`` (clamped to the episode); returns the frame shown."""
        states = episode["sim_state"]
        if not len(states):
            raise ValueError(f"episode {episode.id} has no frames to show")
        self.prepare(episode)
        t = int(np.clip(t, 0, len(states) - 1))
        self.env.restore(states[t])
        self.env.physics.forward()
        return t

    def forget(self) -> None:
        """The env was reset elsewhere: prepare again before the next frame."""
        self._prepared = None


class RenderedEpisode(Episode):
    """An episode plus camera frames rendered from its simulator states, for image rewards on
    takes recorded without cameras (teleop, scripted demos). The files are not changed."""

    def __init__(self, episode: Episode, rendered: dict[str, np.ndarray]):
        super().__init__(episode.id, episode.folder, episode.meta)
        self.rendered = rendered

    def keys(self) -> list[str]:
        recorded = super().keys()
        return [*recorded, *(k for k in self.rendered if k not in recorded)]

    def __getitem__(self, key: str) -> np.ndarray:
        if key in self.rendered:
            return self.rendered[key]
        return super().__getitem__(key)

    def get(self, key: str, default=None):
        return self.rendered[key] if key in self.rendered else super().get(key, default)


def with_frames(episode: Episode, cameras: tuple[str, ...], size: int) -> Episode:
    """``episode`` if it has ``image/<camera>`` frames of every camera, else a
    :class:`RenderedEpisode` with the missing ones rendered from its states, one frame per
    recorded step, as the Recorder would have stored them: at the size of the asked cameras it
    recorded (so that all stack into one array; a model resizes them to its own), else
    ``size`` x ``size``."""
    from workbench.sim.render import MODEL_FRAMES, CameraRenderer

    missing = [c for c in cameras if f"image/{c}" not in episode.keys()]
    if not missing:
        return episode
    recorded = [c for c in cameras if c not in missing]
    height, width = episode[f"image/{recorded[0]}"].shape[1:3] if recorded else (size, size)
    env = env_for(episode)
    replay = EpisodeReplay(env)
    rendered: dict[str, list[np.ndarray]] = {c: [] for c in missing}
    with CameraRenderer(env.physics.model, width, height, MODEL_FRAMES) as renderer:
        for t in range(len(episode)):
            replay.show(episode, t)
            for camera in missing:
                rendered[camera].append(renderer.rgb(env.physics.data, camera))
    env.close()
    return RenderedEpisode(episode, {f"image/{c}": np.stack(f) for c, f in rendered.items()})
