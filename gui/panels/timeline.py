"""The episode timeline under the Record panel's browser: scrub, play, trim, branch, and the
episode's curves (ground-truth progress, reference and learned reward) with the frame marked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from gui.panels.common import curve_key
from workbench.session import Session
from workbench.session.events import TimelineChanged

CURVES = (("progress", "ground-truth progress", "#27ae60"),
          ("reward", "reference reward", "#7f8c8d"),
          ("learned", "learned reward", "#2980b9"))


class Timeline(QWidget):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self.marks: list[int | None] = [None, None]
        self.shown: int | None = None  # the episode whose curves are plotted
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.position = QLabel("—")
        self.live = QPushButton("Back to live")
        for widget in (self.play, self.slider, self.position, self.live):
            row.addWidget(widget, 1 if widget is self.slider else 0)
        layout.addLayout(row)
        edit = QHBoxLayout()
        self.mark_in = QPushButton("Mark in [")
        self.mark_out = QPushButton("Mark out ]")
        self.trim = QPushButton("Trim to marks")
        self.trim.setToolTip("keep the frames between the marks as a new episode; the "
                             "original stays")
        self.branch = QPushButton("Compare branches from here")
        self.branch.setToolTip("roll out two continuations of this frame and rank them")
        for widget in (self.mark_in, self.mark_out, self.trim, self.branch):
            edit.addWidget(widget)
        layout.addLayout(edit)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(120)
        self.plot.setMaximumHeight(190)
        self.plot.setLabel("bottom", "frame")
        self.curves = {key: self.plot.plot(pen=pg.mkPen(colour, width=2))
                       for key, _, colour in CURVES}
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#c0392b"))
        self.plot.addItem(self.cursor)
        layout.addWidget(self.plot)
        layout.addWidget(curve_key(*((colour, "solid", name) for _, name, colour in CURVES)))

        self.slider.valueChanged.connect(self._seek)
        self.play.toggled.connect(lambda on: session.browser.play(on))
        self.live.clicked.connect(session.browser.close)
        self.mark_in.clicked.connect(lambda: self._mark(0))
        self.mark_out.clicked.connect(lambda: self._mark(1))
        self.trim.clicked.connect(self._trim)
        self.branch.clicked.connect(self._branch)
        session.events.subscribe(TimelineChanged, lambda e: self._on_timeline(e.t, e.length))
        self._plot_curves()
        self._on_timeline(0, 0)

    def show_episode(self, episode_id: int) -> None:
        try:
            self.session.browser.open(episode_id)
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))

    def _plot_curves(self) -> None:
        episode = self.session.browser.episode
        self.shown = episode.id if episode is not None else None
        self.marks = [None, None]
        curves = self.session.browser.curves(episode.id) if episode is not None else {}
        for key, curve in self.curves.items():
            data = curves.get(key)
            curve.setData(np.arange(len(data)) if data is not None else [],
                          data if data is not None else [])
        self.cursor.setVisible(episode is not None)
        if episode is None:  # an empty plot, not autorange's -0.5..0.5 around the cursor
            self.plot.setXRange(0, 1)
        else:
            self.plot.enableAutoRange(axis="x")

    def _on_timeline(self, t: int, length: int) -> None:
        episode = self.session.browser.episode
        if (episode.id if episode is not None else None) != self.shown:
            self._plot_curves()  # another episode was opened (here or from another panel)
        active = length > 0
        for widget in (self.play, self.slider, self.live, self.mark_in, self.mark_out,
                       self.trim, self.branch):
            widget.setEnabled(active)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(length - 1, 0))
        self.slider.setValue(t)
        self.slider.blockSignals(False)
        self.cursor.setValue(t)
        self.play.blockSignals(True)
        self.play.setChecked(self.session.browser.playing)
        self.play.blockSignals(False)
        marks = " ".join(f"{'[]'[i]}{m}" for i, m in enumerate(self.marks) if m is not None)
        self.position.setText(f"{t + 1}/{length} {marks}" if active else "no episode open")

    def _seek(self, t: int) -> None:
        self.session.browser.seek(t)

    def _mark(self, which: int) -> None:
        self.marks[which] = self.session.browser.t + which  # "out" is exclusive
        self._on_timeline(self.session.browser.t, self.session.browser.length)

    def _trim(self) -> None:
        browser = self.session.browser
        start = self.marks[0] if self.marks[0] is not None else 0
        end = self.marks[1] if self.marks[1] is not None else browser.length
        try:
            new_id = browser.trim(browser.episode.id, start, end)
        except ValueError as exc:
            self.session.events.problem(str(exc))
            return
        self.session.events.notice(f"kept frames {start}-{end - 1} as episode {new_id}")

    def _branch(self) -> None:
        browser = self.session.browser
        try:
            self.session.feedback.branch_pair(browser.episode.id, browser.t)
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))
