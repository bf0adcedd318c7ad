"""Goal: say the task in words (goal and baseline sentences, kept in the workspace), and see at
once the reward the sentence gives the recorded episodes, before any training."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.panels.common import curve_key, heading, note
from workbench.session import Session
from workbench.session.events import GoalsChanged, JobUpdate, SceneChanged

SUCCESS, FAILURE = "#27ae60", "#c0392b"  # the curves of episodes that did and did not succeed
OTHER = "#7f8c8d"  # episodes of other objects than the goal names: the reward pays them nothing


class GoalPanel(QWidget):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self.result: dict | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Tell: the goal in words"))
        self.vocabulary = note("")
        layout.addWidget(self.vocabulary)
        self.goal = QLineEdit()
        self.baseline = QLineEdit()
        self.baseline.setPlaceholderText("baseline (for CLIP-style rewards), e.g. a cube on a "
                                         "table")
        row = QHBoxLayout()
        self.save = QPushButton("Save goal")
        self.score = QPushButton("Score recorded episodes")
        self.score.setToolTip("the reward this sentence gives each recorded episode, from the "
                              "scene's vocabulary and reward terms; no training needed")
        self.train = QPushButton("Train on this goal")
        self.train.setToolTip("train a policy with PPO on the grounded reward of this sentence "
                              "(the scene's own reward terms toward the objects it names); "
                              "progress shows in the Train panel")
        row.addWidget(self.save)
        row.addWidget(self.score)
        row.addWidget(self.train)
        self.goals = QListWidget()
        self.goals.setMaximumHeight(90)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        for widget in (self.goal, self.baseline):
            layout.addWidget(widget)
        layout.addLayout(row)
        layout.addWidget(self.goals)
        layout.addWidget(self.status)
        self.plot = pg.PlotWidget(title="goal reward along recorded episodes")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "grounded reward")
        layout.addWidget(self.plot, 1)
        layout.addWidget(curve_key((SUCCESS, "solid", "reached success"),
                                   (FAILURE, "solid", "did not"),
                                   (OTHER, "dash", "other objects than the goal names (0)")))
        self.save.clicked.connect(self._save)
        self.score.clicked.connect(self._score)
        self.train.clicked.connect(self._train)
        self.goals.itemClicked.connect(
            lambda item: self.goal.setText(item.text().split("   (vs")[0]))
        session.events.subscribe(GoalsChanged, lambda e: self.refresh())
        session.events.subscribe(SceneChanged, lambda e: self.refresh())
        session.events.subscribe(JobUpdate, lambda e: self._on_job(e.name, e.event))
        self.refresh()

    def _vocabulary(self) -> str:
        vocab = self.session.feedback.vocabulary()
        words = [*vocab.objects, *vocab.colours, *vocab.relations, *vocab.places]
        return "Words the scene knows: " + (", ".join(words) or "(none)")

    def _save(self) -> None:
        try:
            self.session.feedback.add_goal(self.goal.text(), self.baseline.text().strip() or None)
        except ValueError as exc:
            self.session.events.problem(str(exc))

    def _score(self) -> None:
        try:
            self.session.jobs.goal_rewards(self.goal.text() or self.goal.placeholderText())
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))
            return
        self.status.setText("scoring the recorded episodes…")

    def _train(self) -> None:
        goal = self.goal.text().strip() or self.goal.placeholderText()
        try:
            self.session.jobs.train_toward(goal)
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))
            return
        self.status.setText(f"training toward “{goal}”: progress in the Train panel")

    def _on_job(self, name: str, event) -> None:
        if name != "goal":
            return
        if event.kind == "progress" and "total" in event.data:
            self.status.setText(f"scored {event.data['done']}/{event.data['total']} episodes")
        elif event.kind == "done":
            self.show_result(event.data)
        elif event.kind == "error":
            self.status.setText(f"scoring failed: {event.data.get('message')}")

    def show_result(self, result: dict) -> None:
        self.result = result
        self.plot.clear()
        rewarded = 0
        for curve in result["curves"]:
            reward = np.asarray(curve["reward"])
            named = bool(reward.max() > 0)
            rewarded += named
            pen = (pg.mkPen(SUCCESS if curve["success"] else FAILURE, width=1.5) if named else
                   pg.mkPen(OTHER, width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
            self.plot.plot(np.arange(len(reward)), reward, pen=pen)
        self.status.setText(
            f"“{result['goal']}” → {result['grounding']}: {rewarded} of "
            f"{len(result['curves'])} episodes match the named objects and earn reward")

    def refresh(self) -> None:
        self.goal.setPlaceholderText(self.session.goal_example())  # used when nothing is typed
        self.vocabulary.setText(self._vocabulary())
        self.goals.clear()
        for goal in self.session.feedback.goals():
            self.goals.addItem(goal["text"] + (f"   (vs: {goal['baseline']})"
                                               if goal["baseline"] else ""))
