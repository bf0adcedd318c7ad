"""Keyboard take-over of a running bundle: while a run with ``takeover="keyboard"`` is going,
keys pressed anywhere in the window (but in a text field) steer the robot through the runner's
safety filter, with the Record panel's key map; letting go hands back to the policy."""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, QTimer
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit

from gui.viewport import key_name
from workbench.session import Session
from workbench.teleop.keyboard import KEYMAP, KeyboardTeleop

SEND_EVERY_MS = 100  # the runner holds a command for 0.5 s, so a held key is resent in time
TEXT_FIELDS = (QLineEdit, QPlainTextEdit, QAbstractSpinBox)


class KeyTakeover(QObject):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self.teleop: KeyboardTeleop | None = None
        self._steered = False  # whether the last message was a command (not a hand-back)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._send)

    def start(self, labels: tuple[str, ...]) -> None:
        """Listen to the keys for a run of a bundle whose actions are ``labels``."""
        self.teleop = KeyboardTeleop(labels)
        QApplication.instance().installEventFilter(self)
        self.timer.start(SEND_EVERY_MS)

    def stop(self) -> None:
        if self.teleop is None:
            return
        QApplication.instance().removeEventFilter(self)
        self.timer.stop()
        self.teleop = None
        self._steered = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        teleop = self.teleop
        if teleop is None or event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if isinstance(QApplication.focusWidget(), TEXT_FIELDS):
            return False  # typing a value is not steering
        assert isinstance(event, QKeyEvent)
        name = key_name(event)
        if name is None or event.isAutoRepeat():
            return False
        if event.type() == QEvent.Type.KeyPress:
            teleop.press(name)
            if name == "space":  # a gripper toggle is a command even with no key held
                self.session.jobs.take_over(teleop.action())
                self._steered = True
        else:
            teleop.release(name)
        return name in KEYMAP or name in ("space", "shift", "[", "]")

    def _send(self) -> None:
        teleop = self.teleop
        if teleop is None:
            return
        steering = teleop.moving
        if steering:
            self.session.jobs.take_over(teleop.action())
        elif self._steered:  # hands off: once, then quiet
            self.session.jobs.take_over(None)
        self._steered = steering
