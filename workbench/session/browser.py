"""The recorded episodes, as the Record and Rank panels browse them: replay on a timeline in
the viewport, frames and thumbnails rendered from saved states, trimming, and deletion that can
be undone."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.data.edit import trim_episode
from workbench.data.episode import Episode
from workbench.envs.env import WorkbenchEnv
from workbench.envs.replay import EpisodeReplay, env_for
from workbench.operations.workspace import DeleteEpisodes
from workbench.rewards.inspect import reward_along
from workbench.session.context import Context
from workbench.session.events import EpisodesChanged, Frame, TimelineChanged
from workbench.session.live import LiveScene
from workbench.session.recording import Recording
from workbench.session.reward_models import RewardModels
from workbench.sim.render import CameraRenderer


class EpisodeBrowser:
    def __init__(self, context: Context, live: LiveScene, recording: Recording,
                 rewards: RewardModels):
        self.context, self.live, self.recording, self.rewards = context, live, recording, rewards
        # Recorded frames are drawn in a scratch env of the episode's scene and robot, with one
        # renderer per picture size (thumbnails, clips and segments differ).
        self._scratch: tuple[Any, WorkbenchEnv, dict[tuple[int, int], CameraRenderer],
                             EpisodeReplay] | None = None
        self.episode: Episode | None = None  # the episode on the timeline, if any
        self.t = 0
        self.playing = False
        self._replay: EpisodeReplay | None = None
        self._trash: list[str] = []  # folders of deleted episodes, newest last
        self._thumbnails: dict[tuple[int, int], np.ndarray] = {}

    def episodes(self) -> list[dict[str, Any]]:
        """The live scene's recorded episodes (rows: id, source, success, ...), oldest first."""
        return self.context.episodes()

    # -- the timeline ------------------------------------------------------------------------
    @property
    def length(self) -> int:
        return len(self.episode) if self.episode is not None else 0

    def open(self, episode_id: int, t: int = 0) -> None:
        """Show an episode of the current scene in the viewport, at frame ``t``, with the robot
        that recorded it (the live scene switches to it)."""
        if self.recording.active:
            raise RuntimeError("stop recording before replaying an episode")
        episode = self.context.workspace.load_episode(episode_id)
        if episode.meta["scene"] != self.context.scene:
            raise ValueError(f"episode {episode_id} is from {episode.meta['scene']}; "
                             f"switch the scene to {episode.meta['scene']} to replay it")
        robot = episode.meta["meta"].get("robot")
        if robot and robot != self.live.env.robot_name:  # its states fit its robot's model only
            self.live.load(self.context.scene, robot=robot)
        self.episode = episode
        self._replay = EpisodeReplay(self.live.env)
        self.playing = False
        self.seek(t)

    def seek(self, t: int) -> None:
        if self.episode is None or self._replay is None:
            return
        self.t = self._replay.show(self.episode, t)
        self.context.events.publish(Frame(self.frame_info(self.episode)))
        self.context.events.publish(TimelineChanged(self.t, self.length))

    def frame_info(self, episode: Episode) -> dict[str, float]:
        """What the viewport overlays for the shown frame: the recorded ground truth."""
        info = {}
        for key in ("progress", "reward", "success"):
            values = episode.get(key)
            if values is not None and len(values):
                info["reference_reward" if key == "reward" else key] = float(values[self.t])
        return info

    def play(self, on: bool = True) -> None:
        if self.episode is not None:
            if on and self.t >= self.length - 1:
                self.t = 0
            self.playing = on

    def advance(self) -> bool:
        """One tick of replay; False when nothing is playing."""
        if self.episode is None or not self.playing:
            return False
        if self.t >= self.length - 1:
            self.playing = False
            self.context.events.publish(TimelineChanged(self.t, self.length))
            return False
        self.seek(self.t + 1)
        return True

    def close(self) -> None:
        """Leave the timeline: the viewport's env gets a fresh episode."""
        if self.episode is not None:
            self.episode, self.playing = None, False
            self.live.reset_episode()
            self.context.events.publish(TimelineChanged(0, 0))

    # -- editing -----------------------------------------------------------------------------
    def trim(self, episode_id: int, start: int, end: int) -> int:
        """Keep frames [start, end) as a new episode (the original stays)."""
        new_id = trim_episode(self.context.workspace, episode_id, start, end)
        self.context.events.publish(EpisodesChanged())
        return new_id

    def delete(self, episode_id: int) -> None:
        """Delete an episode and its labels; :meth:`undo_delete` brings them back."""
        if self.episode is not None and self.episode.id == episode_id:
            self.close()
        deleted = self.context.perform(DeleteEpisodes(
            ids=(episode_id,), undoable=True, workspace=self.context.workspace.root))
        self._trash += deleted["trash"]

    @property
    def can_undo(self) -> bool:
        return bool(self._trash)

    def undo_delete(self) -> int:
        if not self._trash:
            raise ValueError("nothing to undo")
        episode_id = self.context.workspace.restore_episode(self._trash.pop())
        self.context.events.publish(EpisodesChanged())
        return episode_id

    # -- pictures ----------------------------------------------------------------------------
    def thumbnail(self, episode_id: int, size: tuple[int, int] = (96, 72)) -> np.ndarray:
        """The last frame of an episode, small (cached: episodes do not change)."""
        key = (episode_id, size[0])
        if key not in self._thumbnails:
            episode = self.context.workspace.load_episode(episode_id)
            self._thumbnails[key] = self.frame_of(episode_id, len(episode) - 1, size)
        return self._thumbnails[key]

    def frame_of(self, episode_id: int, t: int, size: tuple[int, int] = (240, 180)) -> np.ndarray:
        """Frame ``t`` of a recorded episode, rendered from its saved simulator state with the
        episode's own colours and sizes."""
        episode = self.context.workspace.load_episode(episode_id)
        key = (episode.meta["scene"], episode.meta["meta"].get("robot"))
        if self._scratch is None or self._scratch[0] != key:
            self._close_scratch()
            env = env_for(episode)
            self._scratch = (key, env, {}, EpisodeReplay(env))
        _, env, renderers, replay = self._scratch
        if size not in renderers:
            renderers[size] = CameraRenderer(env.physics.model, *size)
        replay.show(episode, t)
        camera = env.task.cameras[0] if env.task.cameras else -1
        return renderers[size].rgb(env.physics.data, camera)

    def _close_scratch(self) -> None:
        if self._scratch is not None:
            for renderer in self._scratch[2].values():
                renderer.close()
            self._scratch[1].close()
            self._scratch = None

    def curves(self, episode_id: int) -> dict[str, Any]:
        """Per-frame curves of an episode for plotting under the timeline: the recorded ground
        truth (``progress``, reference ``reward``) and, when the scene has a reward model, the
        ``learned`` reward."""
        episode = self.context.workspace.load_episode(episode_id)
        out = {key: np.asarray(episode[key]) for key in ("progress", "reward")
               if episode.get(key) is not None}
        model = self.rewards.latest()
        if model is not None:
            try:
                out["learned"] = reward_along(model, episode)
            except KeyError:  # a perceptual model whose cameras this scene does not have
                pass
        return out

    def release(self) -> None:
        """Leave the timeline and free the scratch env (another workspace, or closing)."""
        self.close()
        self._close_scratch()
