"""What every part of the session shares: the open workspace, the live scene's name and robot,
and the event bus. One object, so that switching workspaces, scenes or robots changes it for
all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.data.workspace import Workspace
from workbench.operations import Request, Result, WorkspaceRequest, execute
from workbench.session.events import EpisodesChanged, EventBus


@dataclass
class Context:
    workspace: Workspace
    events: EventBus
    scene: str = ""
    robot: str = ""  # the live robot where it stands in for the scene's own ("" where not)
    difficulty: float = 0.0  # the live scene's layouts, which takes and demos are recorded at

    def episodes(self) -> list[dict[str, Any]]:
        """The live scene's recorded episodes, oldest first."""
        return self.workspace.episodes(scene=self.scene)

    def perform(self, request: Request) -> Result:
        """Run a quick operation here and now, on the open workspace (long ones run in a
        worker: :class:`~workbench.session.board.JobBoard`)."""
        result = execute(request, workspace=self.workspace)
        if isinstance(request, WorkspaceRequest) and request.changes_episodes:
            self.events.publish(EpisodesChanged())
        return result
