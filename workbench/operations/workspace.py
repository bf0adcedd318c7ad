"""Looking after a workspace: what it holds, whether its files are intact, what a crash left
behind; deleting episodes, and filming them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.config import ConfigError, validated
from workbench.data.rebuild import index_folders, labels_from_journal, rebuild_index
from workbench.data.workspace import DamagedIndex, Workspace
from workbench.envs.film import Film, check_new_film
from workbench.envs.replay import EpisodeReplay, env_for
from workbench.operations.base import Progress, Result, WorkspaceRequest


@dataclass(frozen=True, kw_only=True)
@validated
class WorkspaceInfo(WorkspaceRequest):
    """Count what the workspace holds: episodes, goals, labels, models, runs."""

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        episodes = ws.episodes(include_incomplete=True)
        return {
            "root": str(ws.root),
            "episodes": len(episodes),
            "incomplete": sum(e["status"] != "saved" for e in episodes),
            "goals": len(ws.goals()),
            "preferences": len(ws.preferences()),
            "models": [m["path"] for m in ws.models()],
            "runs": [r["path"] for r in ws.runs()],
        }


@dataclass(frozen=True, kw_only=True)
@validated
class CheckWorkspace(WorkspaceRequest):
    """List the workspace's problems: changed or missing files, rows without folders."""

    creates_workspace = False

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        problems = ws.check()
        return {"root": str(ws.root), "problems": problems, "ok": not problems}


@dataclass(frozen=True, kw_only=True)
@validated
class RecoverWorkspace(WorkspaceRequest):
    """Index what a crash or a lost database left behind (takes still recording, episode,
    model and run folders the database no longer knows; runs killed while running are marked
    failed). A damaged database is moved aside, kept, and rebuilt from what of it still reads
    and from the folders."""

    changes_episodes = True
    creates_workspace = False

    def perform(self, progress: Progress, workspace: Workspace | None = None) -> Result:
        try:
            return super().perform(progress, workspace)
        except DamagedIndex as damage:
            progress.emit("message", text=f"rebuilding the index: {str(damage).split(';')[0]}")
            return rebuild_index(Path(self.workspace).expanduser().resolve())

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        return {"recovered": ws.recover(), "labels_from_journal": labels_from_journal(ws),
                "indexed_folders": index_folders(ws)}


@dataclass(frozen=True, kw_only=True)
@validated
class DeleteEpisodes(WorkspaceRequest):
    """Delete recorded episodes and the labels on them."""

    changes_episodes = True

    ids: tuple[int, ...] = field(metadata={"help": "episode ids", "positional": True, "min": 1})
    undoable: bool = field(default=False, metadata={
        "help": "keep them in the workspace's trash so that they can be restored"})

    creates_workspace = False

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        if not self.ids:
            raise ValueError("name at least one episode id")
        for episode_id in self.ids:
            ws.load_episode(episode_id)  # every id exists before any is deleted
        if not self.undoable:
            for episode_id in self.ids:
                ws.delete_episode(episode_id)
            return {"deleted": list(self.ids)}
        trash = [str(ws.trash_episode(episode_id)) for episode_id in self.ids]
        return {"deleted": list(self.ids), "trash": trash}


@dataclass(frozen=True, kw_only=True)
@validated
class FilmEpisodes(WorkspaceRequest):
    """Film recorded episodes, one after another, from their stored simulator states (what was
    recorded, not simulated again), as the Record panel's timeline shows them."""

    ids: tuple[int, ...] = field(metadata={"help": "episode ids, of one scene", "positional": True,
                                           "min": 1})
    out: Path | None = field(default=None, metadata={"help": "the new MP4 to write"})
    camera: str = field(default="", metadata={
        "help": "a scene camera to film from (default: the view the app opens on)"})

    creates_workspace = False

    def check(self) -> None:
        if not self.ids:
            raise ConfigError("ids: name at least one episode id")
        if self.out is None:
            raise ConfigError("out: give the MP4 to write (--out FILM.mp4)")
        check_new_film(self.out, "out")

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        episodes = [ws.load_episode(episode_id) for episode_id in self.ids]
        kinds = {(e.meta["scene"], e.meta["meta"].get("robot") or "") for e in episodes}
        if len(kinds) > 1:
            raise ConfigError("ids: film the episodes of one scene and robot at a time, not "
                              + ", ".join(sorted(f"{s} ({r or 'its own robot'})"
                                                 for s, r in kinds)))
        for episode in episodes:
            if "sim_state" not in episode.keys() or not len(episode["sim_state"]):
                raise ConfigError(f"ids: episode {episode.id} has no simulator states (an "
                                  "imported video): nothing to film")
        assert self.out is not None  # check() refused it
        out = self.out
        env = env_for(episodes[0])
        replay = EpisodeReplay(env)
        try:
            with Film(env, out, self.camera) as film:  # a failure leaves no half film
                for number, episode in enumerate(episodes, start=1):
                    for t in range(len(episode["sim_state"])):
                        replay.show(episode, t)
                        film.shoot()
                    progress.emit("progress", done=number, total=len(episodes))
        finally:
            env.close()
        return {"film": str(out), "episodes": list(self.ids), "frames": film.frames}
