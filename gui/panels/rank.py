"""Rank: two clips side by side (first and last frames), answered left/right/equal/skip."""

from __future__ import annotations

from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.panels.common import heading, note, pixmap_from_rgb
from workbench.session import Session

ANSWERS = (("left", "Left is better", "1"), ("right", "Right is better", "2"),
           ("equal", "Equal", "3"), ("skip", "Skip", "4"))


class RankPanel(QWidget):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self.pair = None
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Judge: which clip makes more progress?"))
        layout.addWidget(note("Each side shows a clip's first and last frame. Keys 1-4 answer."))
        grid = QGridLayout()
        self.frames = [[QLabel(), QLabel()], [QLabel(), QLabel()]]
        for side in range(2):
            for k in range(2):
                self.frames[side][k].setMinimumSize(160, 120)
                grid.addWidget(self.frames[side][k], k, side)
        layout.addLayout(grid)
        self.captions = QLabel("")
        layout.addWidget(self.captions)
        row = QHBoxLayout()
        self.buttons = {}
        for answer, text, key in ANSWERS:
            button = QPushButton(f"{text} [{key}]")
            button.setShortcut(QKeySequence(key))
            button.clicked.connect(lambda _=False, a=answer: self.answer(a))
            row.addWidget(button)
            self.buttons[answer] = button
        layout.addLayout(row)
        self.next_button = QPushButton("New pair")
        self.next_button.clicked.connect(self.next_pair)
        layout.addWidget(self.next_button)
        self.count = QLabel()
        layout.addWidget(self.count)
        layout.addStretch(1)
        session.subscribe("episodes", lambda: self.pair is None and self.next_pair())
        self._update_count()

    def next_pair(self) -> None:
        try:
            self.pair = self.session.next_pair()
        except ValueError as exc:
            self.pair = None
            self.captions.setText(str(exc))
            return
        captions = []
        for side, segment in enumerate(self.pair):
            for k, t in enumerate((segment.start, segment.end - 1)):
                frame = self.session.frame_of(segment.episode_id, t)
                self.frames[side][k].setPixmap(pixmap_from_rgb(frame))
            captions.append(f"episode {segment.episode_id} [{segment.start}:{segment.end}]")
        self.captions.setText("   vs   ".join(captions))

    def answer(self, answer: str) -> None:
        if self.pair is None:
            self.next_pair()
            return
        self.session.answer_pair(self.pair, answer)
        self._update_count()
        self.next_pair()

    def _update_count(self) -> None:
        labels = self.session.workspace.preferences()
        order = ("queue: the pairs the preference ensemble disputes most"
                 if self.session.preference_model() is not None
                 else "queue: random pairs (fit a preference reward to ask smarter questions)")
        self.count.setText(f"{len(labels)} labels given · {order}")
