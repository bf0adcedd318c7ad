"""Record: teleoperate with the keyboard in the viewport, save or discard takes, browse them."""

from __future__ import annotations

from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.panels.common import heading, note
from workbench.session import Session
from workbench.teleop.keyboard import HELP


class RecordPanel(QWidget):
    def __init__(self, session: Session, viewport: QWidget):
        super().__init__()
        self.session = session
        self.viewport = viewport
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Show the task: record demonstrations"))
        layout.addWidget(note(f"Keyboard in the viewport — {HELP}; Ctrl+drag the gripper "
                              "target in the viewport (Ctrl+Shift+drag: height)"))
        self.goal = QLineEdit()
        self.goal.setPlaceholderText("goal of this take, e.g. push the red cube onto the green pad")
        layout.addWidget(self.goal)
        device_row = QHBoxLayout()
        device_row.addWidget(QLabel("Device:"))
        self.device = QComboBox()
        self.device.addItems(["keyboard", "gamepad", "spacemouse"])
        self.device.setToolTip("what drives the arm besides the keyboard and Ctrl+drag in the "
                               "viewport; a missing device is reported, nothing is recorded")
        device_row.addWidget(self.device, 1)
        layout.addLayout(device_row)
        row = QHBoxLayout()
        self.start = QPushButton("Start recording")
        self.start.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.start.setToolTip("Ctrl+Shift+R; then drive with the keyboard in the viewport")
        self.save = QPushButton("Save take")
        self.discard = QPushButton("Discard take")
        for button in (self.start, self.save, self.discard):
            row.addWidget(button)
        layout.addLayout(row)
        scripted_row = QHBoxLayout()
        self.scripted_count = QSpinBox()
        self.scripted_count.setRange(1, 100)
        self.scripted_count.setValue(5)
        self.scripted = QPushButton("Record scripted demos + failures")
        self.scripted.setToolTip(
            "the scene's built-in demonstrator for a quick start, plus random and perturbed "
            "(failed) takes: a reward learned from successes alone is easy to exploit"
        )
        scripted_row.addWidget(self.scripted_count)
        scripted_row.addWidget(self.scripted)
        layout.addLayout(scripted_row)
        layout.addWidget(heading("Episodes"))
        self.episodes = QListWidget()
        layout.addWidget(self.episodes, 1)
        self.delete = QPushButton("Delete selected episode")
        layout.addWidget(self.delete)

        self.start.clicked.connect(self._start)
        self.save.clicked.connect(lambda: session.stop_recording(save=True))
        self.discard.clicked.connect(lambda: session.stop_recording(save=False))
        self.scripted.clicked.connect(self._scripted)
        self.delete.clicked.connect(self._delete)
        session.subscribe("recording", lambda active: self._sync(active))
        session.subscribe("episodes", self.refresh)
        session.subscribe("scene", lambda name: self.refresh())
        self._sync(False)
        self.refresh()

    def _start(self) -> None:
        try:
            self.session.start_recording(self.goal.text().strip() or None,
                                         device=self.device.currentText())
        except (RuntimeError, ValueError) as exc:
            self.session.emit("error", message=str(exc))
            return
        self.viewport.setFocus()

    def _scripted(self) -> None:
        try:
            self.session.record_scripted(self.scripted_count.value())
        except ValueError as exc:
            self.session.emit("error", message=str(exc))

    def _delete(self) -> None:
        item = self.episodes.currentItem()
        if item is None:
            return
        episode_id = int(item.text().split()[0].lstrip("#"))
        answer = QMessageBox.question(
            self, "Delete episode", f"Delete episode {episode_id} and the labels that use it?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.session.workspace.delete_episode(episode_id)
            self.refresh()

    def _sync(self, active: bool) -> None:
        self.start.setEnabled(not active)
        self.save.setEnabled(active)
        self.discard.setEnabled(active)

    def refresh(self) -> None:
        self.episodes.clear()
        for row in self.session.episodes():
            mark = "✓" if row["success"] else "✗"
            self.episodes.addItem(
                f"#{row['id']}  {row['source']:<9} {row['num_steps']:>4} steps  {mark}  "
                f"{row['goal'] or ''}"
            )
