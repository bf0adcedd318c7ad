"""The main window: scene picker, live viewport, one panel per stage, errors in the window."""

from __future__ import annotations

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QToolBar,
)

from gui.panels import (
    CodePanel,
    ExportPanel,
    GoalPanel,
    RankPanel,
    RecordPanel,
    RewardPanel,
    TrainPanel,
)
from gui.settings import Settings
from gui.viewport import Viewport
from gui.workspace_menu import WorkspaceMenu, offer_rebuild
from workbench.data.workspace import DamagedIndex
from workbench.session import Session
from workbench.session.events import Branched, Notice, Problem, SceneChanged

TICK_MS = 40  # the scenes' control rate (25 Hz)
MOUSE_HELP = """Left-drag: orbit · right-drag: pan · wheel: zoom
Ctrl+right-drag: pull an object (Ctrl+Shift: lift it)
While recording: Ctrl+left-drag moves the gripper target (Ctrl+Shift: height)"""


class MainWindow(QMainWindow):
    def __init__(self, session: Session, settings: Settings | None = None, robot: str = ""):
        """``robot``: the live scene's, in place of the one the app last ran it with."""
        super().__init__()
        self.session = session
        self.settings = settings or Settings()
        self.setWindowTitle(f"Robot Reward Workbench — {session.workspace.root}")
        self.resize(1280, 760)

        self.viewport = Viewport(session, shadows=self.settings.shadows())
        self.panels = {
            "Record": RecordPanel(session, self.viewport),
            "Rank": RankPanel(session),
            "Goal": GoalPanel(session),
            "Reward": RewardPanel(session),
            "Code": CodePanel(session, self.settings),
            "Train": TrainPanel(session),
            "Export": ExportPanel(session),
        }
        self.tabs = QTabWidget()
        for name, panel in self.panels.items():
            self.tabs.addTab(panel, name)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.viewport)
        splitter.addWidget(self.tabs)
        splitter.setSizes([760, 520])
        self.setCentralWidget(splitter)

        self._build_toolbar()
        self._build_menus()
        self.status = QLabel("ready")
        self.statusBar().addWidget(self.status, 1)
        session.events.subscribe(Problem, lambda e: self.show_error(e.message))
        session.events.subscribe(Notice, lambda e: self.show_message(e.text))
        session.events.subscribe(SceneChanged, lambda e: self._sync_scene(e.name))
        session.events.subscribe(Branched, lambda e: self.tabs.setCurrentWidget(
            self.panels["Rank"]))
        self._restore_layout()
        self._restore_robot(robot)

        self.tick_timer = QTimer(self)
        self.tick_timer.timeout.connect(self._tick)
        self.tick_timer.start(TICK_MS)
        self.job_timer = QTimer(self)
        self.job_timer.timeout.connect(session.jobs.poll)
        self.job_timer.start(100)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Scene")
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addWidget(QLabel(" Scene "))
        self.scene_picker = QComboBox()
        for info in self.session.scene_infos():
            self.scene_picker.addItem(f"{info['name']}  ({', '.join(info['tags'][:1])})",
                                      info["name"])
        self.scene_picker.setCurrentIndex(self.scene_picker.findData(self.session.scene))
        self.scene_picker.setToolTip("the task to teach")
        self.scene_picker.currentIndexChanged.connect(self._pick_scene)
        bar.addWidget(self.scene_picker)
        bar.addWidget(QLabel("  Camera "))
        self.camera_picker = QComboBox()
        self.camera_picker.currentTextChanged.connect(
            lambda name: name and self.viewport.set_camera(name)
        )
        bar.addWidget(self.camera_picker)
        self._fill_cameras()
        reset = QAction("Reset episode", self)
        reset.setShortcut(QKeySequence("Ctrl+R"))
        reset.triggered.connect(self.session.live.reset_episode)
        bar.addAction(reset)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_ws = QAction("&Open workspace…", self)
        open_ws.setShortcut(QKeySequence.StandardKey.Open)
        open_ws.triggered.connect(self._open_workspace)
        file_menu.addAction(open_ws)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.workspace_menu = WorkspaceMenu(self, self.session)
        self.menuBar().addMenu(self.workspace_menu.menu)
        edit_menu = self.menuBar().addMenu("&Edit")
        record = self.panels["Record"]
        delete = QAction("&Delete episode", self)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.triggered.connect(record.delete.click)
        undo = QAction("&Undo delete", self)
        undo.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
        undo.triggered.connect(record.undo_delete)
        edit_menu.addActions([delete, undo])
        view_menu = self.menuBar().addMenu("&View")
        self.shadows_action = QAction("Shadows and reflections", self, checkable=True)
        self.shadows_action.setChecked(self.settings.shadows())
        self.shadows_action.toggled.connect(self._toggle_shadows)
        view_menu.addAction(self.shadows_action)
        self.cloud_action = QAction("Point cloud", self, checkable=True)
        self.cloud_action.setShortcut(QKeySequence("Ctrl+P"))
        self.cloud_action.setToolTip("show the cameras' fused depth, as a point-cloud policy "
                                     "sees the scene")
        self.cloud_action.setChecked(self.settings.flag("point_cloud"))
        self.viewport.set_point_cloud(self.cloud_action.isChecked())
        self.cloud_action.toggled.connect(self._toggle_point_cloud)
        view_menu.addAction(self.cloud_action)
        for index, name in enumerate(self.panels):
            action = QAction(f"{name} panel", self)
            action.setShortcut(QKeySequence(f"Alt+{index + 1}"))
            action.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        mouse = QAction("Viewport mouse", self)
        mouse.triggered.connect(lambda: QMessageBox.information(self, "Viewport mouse", MOUSE_HELP))
        help_menu.addAction(mouse)
        keys = QAction("Teleop keys", self)
        keys.triggered.connect(
            lambda: QMessageBox.information(self, "Teleop keys",
                                            self.session.live.controls_help().replace("  ", "\n"))
        )
        help_menu.addAction(keys)

    def _fill_cameras(self) -> None:
        self.camera_picker.blockSignals(True)
        self.camera_picker.clear()
        self.camera_picker.addItems(self.viewport.camera_choices())
        self.camera_picker.blockSignals(False)

    def _pick_scene(self) -> None:
        name = self.scene_picker.currentData()
        if name and name != self.session.scene:
            try:
                self.session.set_scene(name)
            except Exception as exc:  # show it; the previous scene stays usable
                self.show_error(f"cannot open {name}: {exc}")

    def _sync_scene(self, name: str) -> None:
        self.settings.set("scene", name)
        self.settings.set("robot", self.session.robot)  # the app reopens with it
        self._fill_cameras()
        index = self.scene_picker.findData(name)
        if index != self.scene_picker.currentIndex():
            self.scene_picker.setCurrentIndex(index)

    def _toggle_point_cloud(self, on: bool) -> None:
        self.settings.set("point_cloud", on)
        self.viewport.set_point_cloud(on)

    def _restore_layout(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        tab = self.settings.value("tab")
        if tab is not None:
            self.tabs.setCurrentIndex(int(tab))
        self.tabs.currentChanged.connect(lambda index: self.settings.set("tab", index))

    def _restore_robot(self, robot: str) -> None:
        """The robot asked for, else the one the app last ran this scene with."""
        if not robot and self.settings.scene() == self.session.scene:
            robot = str(self.settings.value("robot") or "")
        if robot and robot != self.session.robot:
            try:
                self.session.set_scene(self.session.scene, robot)
            except Exception as exc:  # not of the scene's kind, its package gone: own stays
                self.show_error(f"cannot open {self.session.scene} with {robot}: {exc}")

    def _toggle_shadows(self, on: bool) -> None:
        self.settings.set("shadows", on)
        self.viewport.set_quality(on)

    def _open_workspace(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open or create a workspace folder")
        if folder:
            self.open_workspace(folder)

    def open_workspace(self, folder: str) -> None:
        try:
            try:
                self.session.open_workspace(folder)
            except DamagedIndex as damage:
                if not offer_rebuild(self, damage, folder):
                    return
                self.session.open_workspace(folder)
        except Exception as exc:  # the current workspace stays open; say why in the window
            self.show_error(f"cannot open {folder}: {exc}")
            return
        self.settings.set("workspace", str(self.session.workspace.root))
        self.setWindowTitle(f"Robot Reward Workbench — {self.session.workspace.root}")
        self.show_message(f"workspace {self.session.workspace.root}")

    def _tick(self) -> None:
        try:
            self.session.tick()
        except Exception as exc:
            self.show_error(str(exc))
        self.viewport.update()

    def show_error(self, message: str) -> None:
        self.status.setText(f"⚠ {message}")
        self.status.setStyleSheet("color: #c0392b")

    def show_message(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("")

    def closeEvent(self, event) -> None:  # noqa: N802
        running = self.session.jobs.running()
        if running:
            answer = QMessageBox.question(
                self, "Quit", f"{', '.join(running)} still running; stop and quit?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.settings.set("geometry", self.saveGeometry())
        self.tick_timer.stop()
        self.job_timer.stop()
        self.viewport.release()
        super().closeEvent(event)
