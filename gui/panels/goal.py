"""Goal: say the task in words (goal and baseline sentences), kept in the workspace."""

from __future__ import annotations

from PyQt6.QtWidgets import QLineEdit, QListWidget, QPushButton, QVBoxLayout, QWidget

from gui.panels.common import heading, note
from workbench.session import Session


class GoalPanel(QWidget):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Tell: the goal in words"))
        layout.addWidget(note("Words the scene knows: " + self._vocabulary()))
        self.goal = QLineEdit()
        self.goal.setPlaceholderText("push the red cube onto the green pad")
        self.baseline = QLineEdit()
        self.baseline.setPlaceholderText("baseline, e.g. a cube on a table")
        self.save = QPushButton("Save goal")
        self.goals = QListWidget()
        for widget in (self.goal, self.baseline, self.save, self.goals):
            layout.addWidget(widget)
        self.save.clicked.connect(self._save)
        session.subscribe("goals", self.refresh)
        session.subscribe("scene", lambda name: self.refresh())
        self.refresh()

    def _vocabulary(self) -> str:
        vocab = self.session.env.task.vocabulary
        words = [*vocab.objects, *vocab.colours, *vocab.relations, *vocab.places]
        return ", ".join(words) or "(none)"

    def _save(self) -> None:
        try:
            self.session.add_goal(self.goal.text(), self.baseline.text().strip() or None)
        except ValueError as exc:
            self.session.emit("error", message=str(exc))
            return
        self.goal.clear()

    def refresh(self) -> None:
        self.goals.clear()
        for goal in self.session.workspace.goals(self.session.scene):
            self.goals.addItem(goal["text"] + (f"   (vs: {goal['baseline']})"
                                               if goal["baseline"] else ""))
