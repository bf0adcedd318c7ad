"""Record: teleoperate in the viewport, save or discard takes, browse them with thumbnails, and
replay, trim or branch one on the timeline."""

from __future__ import annotations

from PyQt6.QtCore import QSize, Qt
from PyQt6.QtGui import QIcon, QKeySequence
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.panels.common import heading, note, offer_robots, pixmap_from_rgb
from gui.panels.timeline import Timeline
from workbench.session import Session
from workbench.session.events import EpisodesChanged, JobUpdate, RecordingChanged, SceneChanged
from workbench.session.recording import DEVICES
from workbench.teleop.leader import SO101_LEADERS, LeaderConfig

THUMBNAIL = (96, 72)


class RecordPanel(QWidget):
    def __init__(self, session: Session, viewport: QWidget):
        super().__init__()
        self.session = session
        self.viewport = viewport
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Show the task: record demonstrations"))
        self.controls = note("")
        layout.addWidget(self.controls)
        self.goal = QLineEdit()
        layout.addWidget(self.goal)
        self.robot_row = QWidget()  # shown where another robot can stand in for the scene's
        robot_row = QHBoxLayout(self.robot_row)
        robot_row.setContentsMargins(0, 0, 0, 0)
        robot_row.addWidget(QLabel("Robot:"))
        self.robot = QComboBox()
        self.robot.setToolTip("the robot the takes are recorded with, here and by the scripted "
                              "demonstrator; training starts with it too. A state reward reads "
                              "one robot's takes")
        robot_row.addWidget(self.robot, 1)
        layout.addWidget(self.robot_row)
        self.robot.activated.connect(lambda index: self._choose_robot())
        self._offer_robots()
        session.events.subscribe(SceneChanged, lambda e: self._offer_robots())
        device_row = QHBoxLayout()
        device_row.addWidget(QLabel("Device:"))
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device.setToolTip("what drives the arm besides the keyboard and Ctrl+drag in the "
                               "viewport; a missing device is reported, nothing is recorded. "
                               "A LeRobot leader arm drives the simulated SO-101 joint to joint")
        device_row.addWidget(self.device, 1)
        device_row.addWidget(QLabel("Difficulty:"))
        self.difficulty = QDoubleSpinBox()
        self.difficulty.setRange(0.0, 1.0)
        self.difficulty.setSingleStep(0.25)
        self.difficulty.setKeyboardTracking(False)  # typed: set once, on Enter or leaving
        self.difficulty.setValue(session.difficulty)
        self.difficulty.setToolTip("the live scene's layouts, which takes and scripted demos "
                                   "are recorded at: 0 the scene's nominal one, 1 the "
                                   "curriculum's end (objects anywhere, sizes and colours "
                                   "varied); a new episode starts at once")
        self.difficulty.valueChanged.connect(self._set_difficulty)
        device_row.addWidget(self.difficulty)
        layout.addLayout(device_row)
        self.leader = QWidget()  # where the leader arm is: shown when it is the device
        leader_row = QHBoxLayout(self.leader)
        leader_row.setContentsMargins(0, 0, 0, 0)
        self.leader_type = QComboBox()
        self.leader_type.addItems(list(SO101_LEADERS))
        self.leader_port = QLineEdit(placeholderText="serial port, /dev/ttyACM1")
        self.leader_id = QLineEdit(placeholderText="id (its calibration)")
        for widget in (self.leader_type, self.leader_port, self.leader_id):
            leader_row.addWidget(widget)
        layout.addWidget(self.leader)
        self.device.currentTextChanged.connect(
            lambda text: (self.leader.setVisible(text == "leader arm"), self._show_controls()))
        self.leader.setVisible(False)
        self._show_controls()
        session.events.subscribe(SceneChanged, lambda e: self._show_controls())
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
        self.scripted = QPushButton()  # its text and tooltip follow the scene
        self._label_takes_button()
        session.events.subscribe(SceneChanged, lambda e: self._label_takes_button())
        self.cancel_scripted = QPushButton("Cancel")
        self.cancel_scripted.setEnabled(False)
        self.scripted_bar = QProgressBar()
        self.scripted_bar.setVisible(False)
        scripted_row.addWidget(self.scripted_count)
        scripted_row.addWidget(self.scripted, 1)
        scripted_row.addWidget(self.cancel_scripted)
        layout.addLayout(scripted_row)
        layout.addWidget(self.scripted_bar)
        layout.addWidget(heading("Episodes (click one to replay it on the timeline)"))
        self.episodes = QListWidget()
        self.episodes.setIconSize(QSize(*THUMBNAIL))
        self.episodes.setMinimumHeight(3 * THUMBNAIL[1] + 12)
        layout.addWidget(self.episodes, 1)
        self.timeline = Timeline(session)
        layout.addWidget(self.timeline)
        edit_row = QHBoxLayout()
        self.delete = QPushButton("Delete selected episode")
        self.delete.setToolTip("Edit > Delete episode (Del); Edit > Undo delete (Ctrl+Z) "
                               "brings it back with its labels")
        self.undo = QPushButton("Undo delete")
        self.undo.setEnabled(False)
        self.film = QPushButton("Film selected episode…")
        self.film.setToolTip("an MP4 of the take from its stored states, at the control rate")
        edit_row.addWidget(self.delete)
        edit_row.addWidget(self.undo)
        edit_row.addWidget(self.film)
        layout.addLayout(edit_row)

        self.start.clicked.connect(self._start)
        self.save.clicked.connect(lambda: session.recording.stop(save=True))
        self.discard.clicked.connect(lambda: session.recording.stop(save=False))
        self.scripted.clicked.connect(self._scripted)
        self.cancel_scripted.clicked.connect(lambda: session.jobs.stop("record"))
        session.events.subscribe(JobUpdate, lambda e: self._on_job(e.name, e.event))
        self.delete.clicked.connect(self._delete)
        self.undo.clicked.connect(self.undo_delete)
        self.film.clicked.connect(self._film)
        self.episodes.itemClicked.connect(self._open)
        session.events.subscribe(RecordingChanged, lambda e: self._sync(e.active))
        session.events.subscribe(EpisodesChanged, lambda e: self.refresh())
        session.events.subscribe(SceneChanged, lambda e: self.refresh())
        self._sync(False)
        self.refresh()

    def _label_takes_button(self) -> None:
        """Scripted demos where the scene has a demonstrator, random takes where not; a goal
        of the scene as the example sentence."""
        self.goal.setPlaceholderText(f"goal of this take, e.g. {self.session.goal_example()}")
        if self.session.scene_info["demonstrator"]:
            self.scripted.setText("Record scripted demos + failures")
            self.scripted.setToolTip(
                "the scene's built-in demonstrator for a quick start, plus random and "
                "perturbed (failed) takes: a reward learned from successes alone is easy to "
                "exploit")
        else:
            self.scripted.setText("Record random takes")
            self.scripted.setToolTip(
                f"{self.session.scene} has no scripted demonstrator: random-action takes give "
                "clips to rank (Rank panel) and a goal's reward episodes to score")

    def _offer_robots(self) -> None:
        """The robots that can run the live scene, its own first, the live one chosen."""
        robots = self.session.robots()
        offer_robots(self.robot, robots, self.session.robot)
        self.robot_row.setVisible(len(robots) > 1)

    def _choose_robot(self) -> None:
        robot = self.robot.currentData()
        if robot == self.session.robot:
            return
        try:
            self.session.set_scene(self.session.scene, robot)
        except Exception as exc:  # show it (its assets missing, say); the live robot stays
            self.session.events.problem(f"cannot run {self.session.scene} with {robot}: {exc}")
            self._offer_robots()

    def _set_difficulty(self, value: float) -> None:
        try:
            self.session.set_difficulty(value)
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))

    def _show_controls(self) -> None:
        if self.device.currentText() == "leader arm":
            self.controls.setText("The leader arm drives the simulated SO-101 joint to joint "
                                  "(the scene switches to it); Enter saves the take, Escape "
                                  "discards it.")
            return
        self.controls.setText(f"Keyboard in the viewport ({self.session.scene}): "
                              f"{self.session.live.controls_help()}")

    def _start(self) -> None:
        try:
            self.session.recording.start(self.goal.text().strip() or None,
                                         device=self.device.currentText(),
                                         leader=LeaderConfig(
                                             type=self.leader_type.currentText(),
                                             port=self.leader_port.text().strip(),
                                             id=self.leader_id.text().strip()))
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))
            return
        self.viewport.setFocus()

    def _scripted(self) -> None:
        """In a worker: the window stays responsive, the bar shows progress, Cancel keeps the
        takes saved so far."""
        try:
            self.session.jobs.record_demos(self.scripted_count.value())
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))
            return
        self.scripted.setEnabled(False)
        self.cancel_scripted.setEnabled(True)
        self.scripted_bar.setValue(0)
        self.scripted_bar.setVisible(True)

    def _on_job(self, name: str, event) -> None:
        if name == "film" and event.kind == "done":
            self.session.events.notice(f"filmed into {event.data['film']}")
        if name != "record":
            return
        if event.kind == "progress":
            self.scripted_bar.setMaximum(event.data["total"])
            self.scripted_bar.setValue(event.data["done"])
        elif event.kind in ("done", "stopped", "error"):
            self.scripted.setEnabled(True)
            self.cancel_scripted.setEnabled(False)
            self.scripted_bar.setVisible(False)
            if event.kind == "stopped":
                saved = len(event.data.get("episodes", []))
                self.session.events.notice(f"cancelled; kept the {saved} takes saved")

    def _open(self, item: QListWidgetItem) -> None:
        self.timeline.show_episode(item.data(Qt.ItemDataRole.UserRole))

    def _delete(self) -> None:
        """Deletion is undoable (Ctrl+Z) rather than confirmed: no dialog in the way."""
        item = self.episodes.currentItem()
        if item is None:
            return
        episode_id = item.data(Qt.ItemDataRole.UserRole)
        self.session.browser.delete(episode_id)
        self.undo.setEnabled(True)
        self.session.events.notice(f"deleted episode {episode_id} and its labels "
                                          "(Ctrl+Z to undo)")

    def _film(self) -> None:
        item = self.episodes.currentItem()
        if item is None:
            return
        episode_id = item.data(Qt.ItemDataRole.UserRole)
        path, _ = QFileDialog.getSaveFileName(self, f"Film episode {episode_id}",
                                              f"episode-{episode_id}.mp4", "MP4 film (*.mp4)")
        if path:
            try:
                self.session.jobs.film_episodes([episode_id], path)
            except (ValueError, RuntimeError) as exc:  # a film that exists; one at a time
                self.session.events.problem(str(exc))

    def undo_delete(self) -> None:
        if not self.session.browser.can_undo:
            return
        episode_id = self.session.browser.undo_delete()
        self.undo.setEnabled(self.session.browser.can_undo)
        self.session.events.notice(f"episode {episode_id} is back")

    def _sync(self, active: bool) -> None:
        self.start.setEnabled(not active)
        self.robot.setEnabled(not active)  # a new robot would end the take unsaved
        self.difficulty.setEnabled(not active)  # the take keeps the layout it started with
        self.save.setEnabled(active)
        self.discard.setEnabled(active)

    def refresh(self) -> None:
        self.episodes.clear()
        for row in self.session.browser.episodes():
            mark = "✓" if row["success"] else "✗"
            difficulty = row["meta"].get("difficulty", 0.0)
            harder = f"  difficulty {difficulty:g}" if difficulty else ""
            item = QListWidgetItem(
                f"#{row['id']}  {row['source']:<9} {row['num_steps']:>4} steps  {mark}{harder}\n"
                f"{row['goal'] or ''}"
            )
            item.setData(Qt.ItemDataRole.UserRole, row["id"])
            if row["num_steps"]:
                thumb = self.session.browser.thumbnail(row["id"], THUMBNAIL)
                item.setIcon(QIcon(pixmap_from_rgb(thumb)))
            self.episodes.addItem(item)
