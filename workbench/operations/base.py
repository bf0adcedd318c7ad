"""What every operation shares: a typed request that performs itself, and the progress channel.

A request is a frozen dataclass whose fields are the operation's options, each with
``metadata["help"]`` and, where it has them, bounds (see :mod:`workbench.config`): the CLI's
arguments are generated from those fields (:mod:`workbench.cli.generate`) and the app builds
the same objects from its widgets, so an option exists in both front ends or in neither.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from workbench.data.workspace import Workspace

DEFAULT_WORKSPACE = Path(os.environ.get("WORKBENCH_WORKSPACE", "~/.workbench/workspace"))

Result = dict[str, Any]
# What an operation raises for the person (a refused option, a missing or foreign file): the
# front ends show the message as it is, one line; any other exception is a bug of ours.
USER_ERRORS = (ValueError, KeyError, OSError, RuntimeError)


class Progress:
    """How an operation tells its front end how far it is, and hears that it should stop.

    The CLI draws progress bars from these events; the app's worker sends them to the window.
    ``previews`` says whether the front end shows the policy while it trains (the app does).
    """

    previews: bool = False
    commands: bool = False  # whether a front end can send the operation messages (the app)

    def emit(self, kind: str, **data: Any) -> None:
        """``kind`` is "progress" (with ``done``/``total``, ``epoch``/``epochs`` or
        ``step``/``total_steps``), "message" or "snapshot"."""

    def should_stop(self) -> bool:
        return False

    def latest(self, kind: str) -> dict[str, Any] | None:
        """The newest message of ``kind`` the front end sent while the operation runs (a
        person's take-over command), or None when none came."""
        return None


@dataclass(frozen=True, kw_only=True)
class Request:
    """An operation's options; :meth:`perform` runs it and returns what it made."""

    def perform(self, progress: Progress) -> Result:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class WorkspaceRequest(Request):
    """An operation on a workspace: the CLI opens it from the path; the app passes the one it
    has open, so a quick operation does not open the database twice."""

    workspace: Path = field(default=DEFAULT_WORKSPACE, metadata={
        "help": "workspace folder", "flag": "-w"})
    creates_workspace: ClassVar[bool] = True  # False: a missing workspace is an error
    changes_episodes: ClassVar[bool] = False  # what a front end showing episodes must reload

    def perform(self, progress: Progress, workspace: Workspace | None = None) -> Result:
        self.check()  # before the workspace is opened, or created
        if workspace is not None:
            return self.perform_in(workspace, progress)
        with Workspace.open(self.workspace, create=self.creates_workspace) as ws:
            return self.perform_in(ws, progress)

    def check(self) -> None:
        """Refuse what can be refused without the workspace (ValueError naming the option)."""

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        raise NotImplementedError
