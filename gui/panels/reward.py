"""Reward: fit a progress reward in a worker process; see how good it is against the truth."""

from __future__ import annotations

from dataclasses import replace

import pyqtgraph as pg
from PyQt6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from gui.panels.common import curve_key, heading, note, pixmap_from_rgb, scrolling
from gui.panels.config_form import ConfigForm, rebased
from workbench.config import ConfigError
from workbench.registry import scene_robot
from workbench.session import Session
from workbench.session.events import EpisodesChanged, JobUpdate, SceneChanged

SEGMENTS_SHOWN = 3
THUMBNAIL = (120, 90)


class RewardPanel(QWidget):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self._live_robot = ""  # the Record panel's, which the list of takes follows
        layout = scrolling(self)
        layout.addWidget(heading("Learn a reward from what you showed and judged"))
        layout.addWidget(note("Fitted in the background; measured on held-out demos or labels "
                              "against the scene's ground truth."))
        self.family = QComboBox()
        self.families = {f.name: f for f in session.rewards.families()}
        for family in self.families.values():
            self.family.addItem(family.title, family.name)
        self.family.setToolTip("what the reward is learned from")
        # Families that read a folder on this computer (a CLIP checkpoint) ask for it here.
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("folder of the checkpoint on this computer")
        self.browse = QPushButton("Choose folder…")
        self.browse.clicked.connect(self._choose_folder)
        self.folder_note = note("Weights are read from this folder (a transformers checkpoint: "
                                "config.json, model.safetensors, tokenizer files); nothing is "
                                "downloaded.")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse)
        self.family.currentIndexChanged.connect(self._family_changed)
        # The family's own settings, from its config class, starting at the scene's defaults.
        self.settings_toggle = QToolButton()
        self.settings_toggle.setText("Settings")
        self.settings_toggle.setCheckable(True)
        self.settings_toggle.setToolTip("the fit's settings (the scene's defaults to start)")
        self.settings_box = QScrollArea()
        self.settings_box.setWidgetResizable(True)
        # Open, the panel scrolls rather than squeeze the rest (at 150 pixels, in an
        # 830-pixel window, three settings showed).
        self.settings_box.setMinimumHeight(200)
        self.settings_box.setMaximumHeight(300)
        self.settings_toggle.toggled.connect(self.settings_box.setVisible)
        self.settings: ConfigForm | None = None
        self.forms: dict[str, ConfigForm] = {}  # each family's form, kept while another shows
        self.fit_button = QPushButton("Fit reward")
        self.stop_button = QPushButton("Cancel")
        self.cluster = QLineEdit()
        self.cluster.setPlaceholderText("fit here; or on a Ray cluster: auto, host:port, "
                                        "ray://host:port")
        self.cluster.setToolTip("a task on the cluster (a GPU node when it has one); the "
                                "scene's recordings travel with it where a node does not "
                                "see the workspace")
        # Shown where the scene has takes of several robots: a state reward reads one's.
        self.robot = QComboBox()
        self.robot.setToolTip("whose takes (and rankings) the reward is fitted on: this "
                              "scene has takes of several robots, whose observations differ")
        self.robot.hide()
        self.bar = QProgressBar()
        self.report = QLabel("no reward model yet")
        self.report.setWordWrap(True)
        self.plot = pg.PlotWidget(title="learned reward along the latest successful episode")
        self.plot.setLabel("bottom", "step")
        self.plot.setYRange(0, 1.05)
        self.learned_curve = self.plot.plot(pen=pg.mkPen("#2980b9", width=2))
        self.truth_curve = self.plot.plot(pen=pg.mkPen("#27ae60", width=2))
        self.disagreement_curve = self.plot.plot(
            pen=pg.mkPen("#e67e22", width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
            name="ensemble disagreement")
        layout.addWidget(self.family)
        layout.addLayout(folder_row)
        layout.addWidget(self.folder_note)
        layout.addWidget(self.settings_toggle)
        layout.addWidget(self.settings_box)
        self.settings_box.setVisible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.fit_button)
        buttons.addWidget(self.robot)
        buttons.addWidget(self.cluster, 1)
        layout.addLayout(buttons)
        for widget in (self.stop_button, self.bar, self.report):
            layout.addWidget(widget)
        self._family_changed()
        # The plot takes what the panel has left (its own size hint would push the segments
        # below out of sight); with the settings open the panel scrolls instead.
        self.plot.setMinimumHeight(110)
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        layout.addWidget(self.plot, 1)
        layout.addWidget(curve_key(("#2980b9", "solid", "learned"),
                                   ("#27ae60", "solid", "ground truth")))
        layout.addWidget(heading("What the reward likes most (top) and least (bottom)"))
        layout.addWidget(note("Segments of the recorded episodes with the highest and lowest "
                              "mean learned reward; click one to replay it. A reward that likes "
                              "the wrong thing shows it here before a policy exploits it."))
        grid = QGridLayout()
        self.extremes: list[list[QToolButton]] = []
        for row in range(2):
            buttons = []
            for col in range(SEGMENTS_SHOWN):
                button = QToolButton()
                button.setToolButtonStyle(pg.QtCore.Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
                button.setIconSize(pg.QtCore.QSize(*THUMBNAIL))
                button.setEnabled(False)
                grid.addWidget(button, row, col)
                buttons.append(button)
            self.extremes.append(buttons)
        layout.addLayout(grid)
        self.fit_button.clicked.connect(self._fit)
        self.stop_button.clicked.connect(lambda: session.jobs.stop("reward"))
        self._sync(False)
        session.events.subscribe(JobUpdate, lambda e: self._on_job(e.name, e.event))
        session.events.subscribe(SceneChanged, lambda e: (self._family_changed(), self.refresh()))
        # A take of another robot, or the last of one deleted, changes whose takes to offer.
        session.events.subscribe(EpisodesChanged, lambda e: self._offer_robots())
        self.refresh()

    def _family_changed(self) -> None:
        family = self.families[self.family.currentData()]
        for widget in (self.folder, self.browse, self.folder_note):
            widget.setVisible(family.local_folder is not None)
        hidden = (family.local_folder,) if family.local_folder else ()
        # A family shown before keeps the person's edits, rebased on the scene's defaults now.
        self.settings = rebased(self.forms.get(family.name),
                                self.session.rewards.default_config(family.name), hidden)
        self.forms[family.name] = self.settings
        self.settings_box.takeWidget()  # kept in forms: setWidget would delete the shown one
        self.settings_box.setWidget(self.settings)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Checkpoint folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _fit(self) -> None:
        family = self.families[self.family.currentData()]
        try:
            config = self.settings.config()
            if family.local_folder is not None:
                if not self.folder.text().strip():
                    raise ConfigError(f"{family.name}: choose the folder of the checkpoint on "
                                      "this computer first (nothing is downloaded)")
                config = replace(config, **{family.local_folder: self.folder.text().strip()})
            self.session.jobs.fit_reward(family.name, config, self.cluster.text().strip(),
                                         self.robot.currentData() or "")
        except (ConfigError, ValueError, RuntimeError) as exc:
            self.session.events.problem(str(exc))

    def _sync(self, running: bool) -> None:
        """Fit while no fit runs, Cancel while one does."""
        self.fit_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _on_job(self, name: str, event) -> None:
        if name != "reward":
            return
        if event.kind in ("started", "done", "stopped", "error"):
            self._sync(event.kind == "started")
        if event.kind == "progress" and "stage" in event.data:  # rendering, pretraining
            self.bar.setMaximum(event.data["total"])
            self.bar.setValue(event.data["done"])
            data = event.data
            self.report.setText(f"{data['stage']}: {data['done']} of {data['total']} (once per "
                                "scene and settings, then cached on disk)")
        elif event.kind == "progress":
            self.bar.setMaximum(event.data["epochs"])
            self.bar.setValue(event.data["epoch"])
        elif event.kind in ("done", "stopped"):
            self.bar.setValue(self.bar.maximum())
            self.refresh()
            if event.data.get("cancelled"):
                self.report.setText(f"fitting cancelled: {event.data['cancelled']}")
        elif event.kind == "message":  # where it runs (a cluster)
            self.report.setText(event.data.get("text", ""))
        elif event.kind == "error":
            self.report.setText(f"fitting failed: {event.data.get('message')}")

    def refresh(self) -> None:
        self._offer_robots()
        summary = self.session.rewards.summary()
        self.report.setText(summary.text)
        self.learned_curve.setData(summary.steps, summary.learned)
        self.truth_curve.setData(summary.steps, summary.truth)
        self.disagreement_curve.setData(summary.steps[: len(summary.disagreement)],
                                        summary.disagreement)
        if len(summary.steps):
            self.show_extremes()

    def _offer_robots(self) -> None:
        """The robots whose takes the scene has, to fit on one where there are several."""
        own = scene_robot(self.session.scene)
        found = sorted({row["meta"].get("robot") or own for row in self.session.browser.episodes()})
        chosen, live = self.robot.currentData(), self.session.robot or own
        # It follows the robot takes are recorded with, unless another was chosen here that
        # still has takes.
        if chosen == self._live_robot or chosen not in found:
            chosen = live
        self._live_robot = live
        self.robot.clear()
        for name in found if len(found) > 1 else ():
            self.robot.addItem(f"{name}'s takes", name)
        self.robot.setCurrentIndex(max(self.robot.findData(chosen), 0))
        self.robot.setVisible(len(found) > 1)

    def show_extremes(self) -> None:
        found = self.session.rewards.extreme_segments(length=20, count=SEGMENTS_SHOWN)
        if found is None:
            return
        for buttons, scored in zip(self.extremes, found, strict=True):
            for button, item in zip(buttons, scored, strict=False):
                episode_id, start, end = item.segment
                frame = self.session.browser.frame_of(episode_id, end - 1, THUMBNAIL)
                button.setIcon(pg.QtGui.QIcon(pixmap_from_rgb(frame)))
                button.setText(f"#{episode_id} [{start}:{end}]\nmean {item.mean_reward:.2f}")
                button.setEnabled(True)
                try:
                    button.clicked.disconnect()
                except TypeError:
                    pass
                button.clicked.connect(
                    lambda _=False, e=episode_id, t=start: self._replay(e, t))

    def _replay(self, episode_id: int, t: int) -> None:
        try:
            self.session.browser.open(episode_id, t)
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))
