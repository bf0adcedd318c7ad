"""What every app test shares."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def quit_questions_answer_yes(monkeypatch):
    """A modal question nobody answers would hang the whole run: a test that fails with a job
    still running is closed by pytest-qt's teardown, and the main window then asks whether to
    stop the job. Answer as a person quitting would (the patch lasts through that teardown)."""
    from PyQt6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *args, **kwargs: QMessageBox.StandardButton.Yes))


@pytest.fixture
def window(qtbot, tmp_path, app_settings):
    """The main window on a fresh workspace showing Push, closed with its jobs stopped."""
    from gui.main_window import MainWindow
    from gui.settings import Settings
    from workbench.session import Session

    session = Session(tmp_path / "ws", scene="Push")
    win = MainWindow(session, Settings())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    session.jobs.kill_all()  # first: a running job makes closing ask (modal)
    win.close()
    session.close()
