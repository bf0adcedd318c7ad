"""The Workspace menu: what it holds, whether its files are intact, recovery after a crash,
and datasets in and out (LeRobot folders, robomimic files)."""

from __future__ import annotations

import json
from pathlib import Path

from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox, QWidget

from workbench.data.workspace import DamagedIndex
from workbench.operations.base import Progress
from workbench.operations.workspace import RecoverWorkspace
from workbench.session import Session
from workbench.session.events import JobUpdate, SceneChanged

DATASET_FILTER = "robomimic file (*.hdf5 *.h5);;LeRobot dataset folder (*)"
REAL_ROBOT_EXPORT = "Export as the real robot's LeRobot dataset…"


def offer_rebuild(parent: QWidget | None, damage: DamagedIndex, folder: str | Path) -> bool:
    """Ask whether to rebuild a workspace whose database is damaged, and do it (the damaged
    file is kept beside it); True when the workspace opens again."""
    answer = QMessageBox.question(parent, "Damaged workspace",
                                  f"{damage}.\n\nRebuild the index now?")
    if answer != QMessageBox.StandardButton.Yes:
        return False
    RecoverWorkspace(workspace=Path(folder)).perform(Progress())
    return True


class WorkspaceMenu:
    def __init__(self, window: QMainWindow, session: Session):
        self.window, self.session = window, session
        self.menu = QMenu("&Workspace", window)
        self.actions: dict[str, QAction] = {}
        for name, slot in (("Summary", self.summary), ("Check files", self.check),
                           ("Recover after a crash", self.recover), (None, None),
                           ("Import LeRobot dataset…", self.import_lerobot),
                           ("Import robomimic file…", self.import_robomimic),
                           ("Export dataset…", self.export_dataset),
                           (REAL_ROBOT_EXPORT, self.export_real_robot_dataset)):
            if name is None:
                self.menu.addSeparator()
                continue
            action = QAction(name, window)
            action.triggered.connect(slot)
            self.menu.addAction(action)
            self.actions[name] = action
        session.events.subscribe(JobUpdate, self._on_job)
        session.events.subscribe(SceneChanged, self._offer_real_robot_export)
        self._offer_real_robot_export()

    def summary(self) -> None:
        info = self.session.workspace_summary()
        text = (f"{info['episodes']} episodes ({info['incomplete']} incomplete), "
                f"{info['goals']} goals, {info['preferences']} labels, "
                f"{len(info['models'])} reward models, {len(info['runs'])} runs")
        QMessageBox.information(self.window, f"Workspace {info['root']}", text)

    def check(self) -> None:
        problems = self.session.check_workspace()
        if problems:
            QMessageBox.warning(self.window, "Workspace problems", "\n".join(problems))
        else:
            self.session.events.notice("every file of the workspace is as it was saved")

    def recover(self) -> None:
        report = self.session.recover_workspace()
        episodes, folders = len(report["recovered"]), len(report["indexed_folders"])
        self.session.events.notice(
            f"recovered {episodes} episodes, indexed {folders} model and run folders"
            if episodes or folders else "nothing to recover")

    def import_lerobot(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Import a LeRobot dataset folder")
        if path:
            self._start(lambda: self.session.jobs.import_dataset(path))

    def import_robomimic(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import a robomimic file", "",
                                              "robomimic file (*.hdf5 *.h5)")
        if path:
            self._start(lambda: self.session.jobs.import_dataset(path))

    def export_dataset(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export the scene's episodes (a .hdf5 name writes robomimic, any "
            "other a LeRobot folder)", "", DATASET_FILTER)
        if path:
            self._start(lambda: self.session.jobs.export_dataset(path))

    def export_real_robot_dataset(self) -> None:
        """The live robot's takes of the scene in the real robot's joints, named and scaled
        as LeRobot's driver reports them, for LeRobot's policies on the real arm."""
        path, _ = QFileDialog.getSaveFileName(
            self.window, f"Export the scene's takes as a {self.session.lerobot_type()} "
            "dataset (a new LeRobot folder)", "", "LeRobot dataset folder (*)")
        if path:
            self._start(lambda: self.session.jobs.export_dataset(path, joints=True))

    def _offer_real_robot_export(self, _event: SceneChanged | None = None) -> None:
        kind = self.session.lerobot_type()
        action = self.actions[REAL_ROBOT_EXPORT]
        action.setEnabled(bool(kind))
        action.setToolTip(f"the takes as {kind}'s joints in LeRobot's names and units" if kind
                          else "the live robot has no real counterpart that LeRobot drives "
                          "(the SO-101 has)")

    def _start(self, launch) -> None:
        try:
            launch()
        except Exception as exc:  # one dataset job at a time: say so
            self.session.events.problem(str(exc))

    def _on_job(self, event: JobUpdate) -> None:
        if event.name == "dataset" and event.event.kind == "done":
            self.session.events.notice("dataset: " + json.dumps(event.event.data, default=str))
