"""Start the desktop app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import workbench  # noqa: F401  (sets the GL backend before mujoco loads)

if TYPE_CHECKING:
    from workbench.session import Session


def run_app(workspace: str | Path | None = None, scene: str | None = None,
            robot: str = "") -> int:
    from PyQt6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Robot Reward Workbench")
    app.setOrganizationName("workbench")
    settings = Settings()
    session = open_session(workspace or settings.workspace(), scene or settings.scene())
    if session is None:
        return 1
    window = MainWindow(session, settings, robot=robot)
    window.show()
    code = app.exec()
    session.close()
    return code


def open_session(workspace: str | Path, scene: str | None = None) -> Session | None:
    """The session on ``workspace``, or None with the reason in a dialog (not a traceback);
    a damaged database is rebuilt if the person agrees."""
    from PyQt6.QtWidgets import QMessageBox

    from gui.workspace_menu import offer_rebuild
    from workbench.data.workspace import DamagedIndex, WorkspaceError
    from workbench.session import Session

    try:
        try:
            return Session(workspace, scene)
        except DamagedIndex as damage:
            return Session(workspace, scene) if offer_rebuild(None, damage, workspace) else None
    except WorkspaceError as error:
        QMessageBox.critical(None, "Cannot open the workspace", str(error))
        return None


if __name__ == "__main__":
    raise SystemExit(run_app())
