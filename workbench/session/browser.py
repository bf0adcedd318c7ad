"""The recorded episodes, as the Record panel browses them: thumbnails, replay on a timeline
in the viewport, trimming, and deletion that can be undone. Qt-free, owned by the Session."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.data.edit import trim_episode
from workbench.data.episode import Episode
from workbench.data.replay import EpisodeReplay

if TYPE_CHECKING:
    from workbench.session.session import Session


class EpisodeBrowser:
    def __init__(self, session: Session):
        self.session = session
        self.episode: Episode | None = None  # the episode on the timeline, if any
        self.t = 0
        self.playing = False
        self._replay: EpisodeReplay | None = None
        self._trash: list[Path] = []
        self._thumbnails: dict[tuple[int, int], np.ndarray] = {}

    # -- the timeline ------------------------------------------------------------------------
    @property
    def length(self) -> int:
        return len(self.episode) if self.episode is not None else 0

    def open(self, episode_id: int, t: int = 0) -> None:
        """Show an episode of the current scene in the viewport, at frame ``t``."""
        session = self.session
        if session.recorder is not None:
            raise RuntimeError("stop recording before replaying an episode")
        episode = session.workspace.load_episode(episode_id)
        if episode.meta["scene"] != session.scene:
            raise ValueError(f"episode {episode_id} is from {episode.meta['scene']}; "
                             f"switch the scene to {episode.meta['scene']} to replay it")
        self.episode = episode
        self._replay = EpisodeReplay(session.env)
        self.playing = False
        self.seek(t)

    def seek(self, t: int) -> None:
        if self.episode is None:
            return
        self.t = self._replay.show(self.episode, t)
        self.session.emit("frame", info=self.frame_info())
        self.session.emit("timeline", t=self.t, length=self.length)

    def frame_info(self) -> dict[str, float]:
        """What the viewport overlays for the shown frame: the recorded ground truth."""
        info = {}
        for key in ("progress", "reward", "success"):
            values = self.episode.get(key)
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
            self.session.emit("timeline", t=self.t, length=self.length)
            return False
        self.seek(self.t + 1)
        return True

    def close(self) -> None:
        """Leave the timeline: the viewport's env gets a fresh episode."""
        if self.episode is not None:
            self.episode, self.playing = None, False
            self.session.reset_episode()
            self.session.emit("timeline", t=0, length=0)

    # -- editing -----------------------------------------------------------------------------
    def trim(self, episode_id: int, start: int, end: int) -> int:
        """Keep frames [start, end) as a new episode (the original stays)."""
        new_id = trim_episode(self.session.workspace, episode_id, start, end)
        self.session.emit("episodes")
        return new_id

    def delete(self, episode_id: int) -> None:
        """Delete an episode and its labels; :meth:`undo_delete` brings them back."""
        if self.episode is not None and self.episode.id == episode_id:
            self.close()
        self._trash.append(self.session.workspace.trash_episode(episode_id))
        self.session.emit("episodes")

    @property
    def can_undo(self) -> bool:
        return bool(self._trash)

    def undo_delete(self) -> int:
        if not self._trash:
            raise ValueError("nothing to undo")
        episode_id = self.session.workspace.restore_episode(self._trash.pop())
        self.session.emit("episodes")
        return episode_id

    # -- pictures ----------------------------------------------------------------------------
    def thumbnail(self, episode_id: int, size: tuple[int, int] = (96, 72)) -> np.ndarray:
        """The last frame of an episode, small (cached: episodes do not change)."""
        key = (episode_id, size[0])
        if key not in self._thumbnails:
            episode = self.session.workspace.load_episode(episode_id)
            self._thumbnails[key] = self.session.frame_of(episode_id, len(episode) - 1, size)
        return self._thumbnails[key]

    def curves(self, episode_id: int) -> dict[str, Any]:
        """Per-frame curves of an episode for plotting under the timeline: the recorded ground
        truth (``progress``, reference ``reward``) and, when the scene has a reward model, the
        ``learned`` reward."""
        from workbench.rewards.inspect import reward_along

        episode = self.session.workspace.load_episode(episode_id)
        out = {key: np.asarray(episode[key]) for key in ("progress", "reward")
               if episode.get(key) is not None}
        model = self.session.reward_model()
        if model is not None:
            try:
                out["learned"] = reward_along(model, episode)
            except KeyError:  # a perceptual model whose cameras this scene does not have
                pass
        return out
