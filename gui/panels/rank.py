"""Rank: judge clips. Two clips side by side, played in sync, answered with keys (left, right,
equal, skip); or N clips ranked by dragging them into order. Pairs come from the queue (the
reward ensemble's most disputed, once there is one) or from branches of a frame the user picked
on the Record panel's timeline."""

from __future__ import annotations

import math

from PyQt6.QtCore import QSize, Qt, QTimer
from PyQt6.QtGui import QIcon, QKeySequence
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.panels.common import heading, note, pixmap_from_rgb
from workbench.session import Session
from workbench.session.events import Branched, EpisodesChanged, LabelsChanged, SceneChanged
from workbench.session.feedback import Segment  # the clips the feedback model hands out

ANSWERS = (("left", "Left is better", "1"), ("right", "Right is better", "2"),
           ("equal", "Equal", "3"), ("skip", "Skip", "4"))
CLIP_FRAMES = 12  # frames shown per clip, spread over the segment
PAIR_SIZE = (240, 180)  # the smallest a pair's clips are shown at; wider panels show them larger
PAIR_MAX_WIDTH = 480
GROUP_SIZE = (144, 108)  # the smallest the clips of a ranking are shown at
GROUP_MAX_WIDTH = 320
CAPTION_HEIGHT = 20  # a ranked clip's caption line under it
PLAY_MS = 125


class RankPanel(QWidget):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self.pair: tuple[Segment, Segment] | None = None
        self.group: list[Segment] = []
        self.clips: list[list] = []  # per shown segment: its frames as pixmaps
        self.frame_index = 0
        self.clip_size = PAIR_SIZE  # the size the shown clips were rendered at
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Judge: which clip makes more progress?"))
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel("Ask"))
        self.mode = QComboBox()
        self.mode.addItem("pairs (keys 1-4)", 2)
        for n in (3, 4, 5, 6):
            self.mode.addItem(f"rank {n} clips (drag into order)", n)
        mode_row.addWidget(self.mode, 1)
        layout.addLayout(mode_row)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._pair_page())
        self.stack.addWidget(self._group_page())
        layout.addWidget(self.stack, 1)
        self.captions = QLabel("")
        self.captions.setWordWrap(True)
        layout.addWidget(self.captions)
        self.next_button = QPushButton("New query")
        self.next_button.clicked.connect(self.next_query)
        layout.addWidget(self.next_button)
        self.count = QLabel()
        self.count.setWordWrap(True)
        layout.addWidget(self.count)
        layout.addLayout(self._teacher_row())

        # Clips are rendered again at the new size once the panel stops being resized.
        self.rerender = QTimer(self)
        self.rerender.setSingleShot(True)
        self.rerender.timeout.connect(self._rerender_if_resized)
        self.player = QTimer(self)
        self.player.timeout.connect(self._advance_clips)
        self.player.start(PLAY_MS)
        self.mode.currentIndexChanged.connect(lambda _: self.next_query())
        session.events.subscribe(EpisodesChanged, lambda e: self.pair is None and not self.group
                          and self.next_query())
        session.events.subscribe(Branched, lambda e: self.show_pair(e.pair))
        session.events.subscribe(SceneChanged, lambda e: self.next_query())
        self._update_count()

    def _teacher_row(self) -> QHBoxLayout:
        """A synthetic teacher (B-Pref) answers queries from the true reward: labels to try a
        preference reward with before spending a person's time."""
        row = QHBoxLayout()
        self.teacher = QComboBox()
        self.teacher.addItems(self.session.feedback.teachers())
        self.teacher.setToolTip("oracle answers from the scene's true reward; the others add "
                                "B-Pref's kinds of human error")
        self.teacher_labels = QSpinBox()
        self.teacher_labels.setRange(1, 10_000)
        self.teacher_labels.setValue(50)
        self.teach_button = QPushButton("Let a synthetic teacher answer")
        self.teach_button.clicked.connect(self._teach)
        row.addWidget(self.teacher)
        row.addWidget(self.teacher_labels)
        row.addWidget(self.teach_button, 1)
        self.session.events.subscribe(LabelsChanged, lambda e: self._update_count())
        return row

    def _teach(self) -> None:
        try:
            self.session.jobs.teach(self.teacher.currentText(), self.teacher_labels.value())
        except Exception as exc:  # a job of that kind running: say so
            self.session.events.problem(str(exc))

    def _pair_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(note("Both clips play together, looping. Keys 1-4 answer."))
        grid = QGridLayout()
        self.views = [QLabel(), QLabel()]
        for side, view in enumerate(self.views):
            view.setMinimumSize(*PAIR_SIZE)
            # Each view takes half the page's width; its height follows the clip's.
            view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            grid.addWidget(view, 0, side)
        layout.addLayout(grid)
        row = QHBoxLayout()
        self.buttons = {}
        for answer, text, key in ANSWERS:
            button = QPushButton(f"{text} [{key}]")
            button.setShortcut(QKeySequence(key))
            button.clicked.connect(lambda _=False, a=answer: self.answer(a))
            row.addWidget(button)
            self.buttons[answer] = button
        layout.addLayout(row)
        layout.addStretch(1)
        return page

    def _group_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(note("Drag the clips into order, best first (top left), then submit."))
        self.ranking = QListWidget()
        self.ranking.setViewMode(QListWidget.ViewMode.IconMode)
        self.ranking.setIconSize(QSize(*GROUP_SIZE))  # until a ranking is shown
        self.ranking.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.ranking.setMovement(QListWidget.Movement.Snap)
        self.ranking.setFlow(QListWidget.Flow.LeftToRight)
        self.ranking.setWrapping(True)
        self.ranking.setResizeMode(QListWidget.ResizeMode.Adjust)
        layout.addWidget(self.ranking, 1)
        self.submit = QPushButton("Submit ranking [Ctrl+Return]")
        self.submit.setShortcut(QKeySequence("Ctrl+Return"))
        self.submit.clicked.connect(self.submit_ranking)
        layout.addWidget(self.submit)
        return page

    # -- queries -----------------------------------------------------------------------------
    def next_query(self) -> None:
        count = self.mode.currentData()
        self.pair, self.group = None, []
        try:
            if count == 2:
                self.show_pair(self.session.feedback.next_pair())
            else:
                self.show_group(self.session.feedback.next_group(count))
        except ValueError as exc:
            self.clips = []
            self.captions.setText(str(exc))

    def _frames(self, segment: Segment, size: tuple[int, int]) -> list:
        span = segment.end - segment.start
        steps = sorted({segment.start + round(i * (span - 1) / max(CLIP_FRAMES - 1, 1))
                        for i in range(min(CLIP_FRAMES, span))})
        return [pixmap_from_rgb(self.session.browser.frame_of(segment.episode_id, t, size))
                for t in steps]

    def show_pair(self, pair: tuple[Segment, Segment]) -> None:
        if self.mode.currentData() != 2:
            self.mode.blockSignals(True)
            self.mode.setCurrentIndex(0)
            self.mode.blockSignals(False)
        self.stack.setCurrentIndex(0)
        self.pair, self.group = tuple(pair), []
        self.clip_size = self._pair_size()
        self.clips = [self._frames(s, self.clip_size) for s in self.pair]
        self.frame_index = 0
        self._advance_clips()
        self.captions.setText("   vs   ".join(
            f"episode {s.episode_id} [{s.start}:{s.end}]" for s in self.pair))

    def _pair_size(self) -> tuple[int, int]:
        """The largest 4:3 clip each view of a pair has room for now."""
        return _four_by_three(min(view.width() for view in self.views), PAIR_SIZE[0],
                              PAIR_MAX_WIDTH)

    def _group_size(self, count: int) -> tuple[int, int]:
        """The largest 4:3 clip that lets ``count`` clips fill the ranking list in a near-square
        grid (2 columns for 3-4 clips, 3 for 5-6), captions included."""
        columns = math.ceil(math.sqrt(count))
        rows = math.ceil(count / columns)
        room = self.ranking.viewport().size()
        spacing = 2 * self.ranking.spacing() + 12  # the item's margins and frame
        width = (room.width() - columns * spacing) // columns
        height = (room.height() - rows * (spacing + CAPTION_HEIGHT)) // rows
        return _four_by_three(min(width, height * 4 // 3), GROUP_SIZE[0], GROUP_MAX_WIDTH)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.pair is not None or self.group:
            self.rerender.start(200)

    def _rerender_if_resized(self) -> None:
        if self.pair is not None and self._pair_size() != self.clip_size:
            self.show_pair(self.pair)
        elif self.group and self._group_size(len(self.group)) != self.clip_size:
            self._render_group_clips()

    def show_group(self, group: list[Segment]) -> None:
        self.stack.setCurrentIndex(1)
        self.group, self.pair = list(group), None
        self._render_group_clips()
        self.ranking.clear()
        for index, segment in enumerate(self.group):
            item = QListWidgetItem(f"episode {segment.episode_id} [{segment.start}:{segment.end}]")
            item.setData(Qt.ItemDataRole.UserRole, index)
            self.ranking.addItem(item)
        self.frame_index = 0
        self._advance_clips()
        self.captions.setText(f"{len(group)} clips: drag the best to the front")

    def _render_group_clips(self) -> None:
        """The ranking's clips at the size the list has room for; the order the person has
        dragged them into stays (each item keeps its clip's index)."""
        self.clip_size = self._group_size(len(self.group))
        self.ranking.setIconSize(QSize(*self.clip_size))
        self.clips = [self._frames(s, self.clip_size) for s in self.group]

    def _advance_clips(self) -> None:
        """Show the next frame of every clip at once (clips of different lengths loop)."""
        if not self.clips:
            return
        if self.pair is not None:
            for view, frames in zip(self.views, self.clips, strict=True):
                view.setPixmap(frames[self.frame_index % len(frames)])
        else:
            for row in range(self.ranking.count()):
                item = self.ranking.item(row)
                frames = self.clips[item.data(Qt.ItemDataRole.UserRole)]
                item.setIcon(QIcon(frames[self.frame_index % len(frames)]))
        self.frame_index += 1

    # -- answers -----------------------------------------------------------------------------
    def answer(self, answer: str) -> None:
        if self.pair is None:
            self.next_query()
            return
        self.session.feedback.answer_pair(self.pair, answer)
        self._update_count()
        self.next_query()

    def current_order(self) -> list[int]:
        return [self.ranking.item(row).data(Qt.ItemDataRole.UserRole)
                for row in range(self.ranking.count())]

    def submit_ranking(self) -> None:
        if not self.group:
            return
        self.session.feedback.answer_ranking(self.group, self.current_order())
        self._update_count()
        self.next_query()

    def _update_count(self) -> None:
        impact = self.session.feedback.label_impact()
        if impact is not None:
            self.count.setText(f"{impact.summary} · queue: the pairs the preference ensemble "
                               "disputes most")
        else:
            labels = self.session.feedback.label_count()
            self.count.setText(f"{labels} labels given · queue: random pairs (fit a preference "
                               "reward to ask smarter questions)")


def _four_by_three(width: int, smallest: int, largest: int) -> tuple[int, int]:
    """A 4:3 clip size about ``width`` wide, within the bounds (a multiple of 4 wide)."""
    width = min(max(width, smallest), largest)
    width -= width % 4
    return width, width * 3 // 4
