"""The Workspace: a folder with a SQLite index and per-episode array files."""

from workbench.data.episode import Episode, EpisodeWriter
from workbench.data.workspace import Preference, Workspace, WorkspaceError

__all__ = ["Episode", "EpisodeWriter", "Preference", "Workspace", "WorkspaceError"]
