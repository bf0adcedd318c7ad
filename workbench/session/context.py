"""What every part of the session shares: the open workspace, the live scene's name and the
event bus. One object, so that switching workspaces or scenes changes it for all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.data.workspace import Workspace
from workbench.session.events import EventBus


@dataclass
class Context:
    workspace: Workspace
    events: EventBus
    scene: str = ""

    def episodes(self) -> list[dict[str, Any]]:
        """The live scene's recorded episodes, oldest first."""
        return self.workspace.episodes(scene=self.scene)
