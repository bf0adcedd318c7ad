"""Start the desktop app."""

from __future__ import annotations

import sys
from pathlib import Path

import workbench  # noqa: F401  (sets the GL backend before mujoco loads)


def run_app(workspace: str | Path | None = None, scene: str | None = None) -> int:
    from PyQt6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.settings import Settings
    from workbench.session import Session

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Robot Reward Workbench")
    app.setOrganizationName("workbench")
    settings = Settings()
    session = Session(workspace or settings.workspace(), scene or settings.scene())
    window = MainWindow(session, settings)
    window.show()
    code = app.exec()
    session.close()
    return code


if __name__ == "__main__":
    raise SystemExit(run_app())
