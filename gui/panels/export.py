"""Export: pick a trained run, write its bundle (ONNX + parity check), edit and check its safety
limits, run it through the torch-free runner in simulation or on a robot (UDP link, LeRobot,
ROS 2) and watch what it reads, computes and sends. The Stop button stays at the top."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PyQt6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.panels.common import heading, note
from gui.panels.robot_link import LimitsEditor, LiveView, RobotForm
from gui.panels.takeover_keys import KeyTakeover
from workbench.config import ConfigError
from workbench.export.runner import BundleError, read_bundle
from workbench.session import Session
from workbench.session.events import JobUpdate, SceneChanged

STOP_STYLE = ("QPushButton { background: #c0392b; color: white; font-weight: bold; "
              "padding: 8px; } QPushButton:disabled { background: #e6b0aa; }")


class ExportPanel(QWidget):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self.bundle: str | None = None
        self.run_path: str | None = None
        self.meta: dict[str, Any] | None = None
        self.keys = KeyTakeover(session)  # the keyboard, while a run lets a person take over
        outer = QVBoxLayout(self)
        self.stop_button = QPushButton("STOP the robot")
        self.stop_button.setStyleSheet(STOP_STYLE)
        self.stop_button.setToolTip("halts the run: the robot holds where it is")
        outer.addWidget(self.stop_button)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        body = QWidget()
        layout = QVBoxLayout(body)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(body)
        outer.addWidget(self.scroll, 1)

        layout.addWidget(heading("Export a policy and run it on a robot"))
        layout.addWidget(note("A bundle is ONNX + bundle.json, parity-checked against torch; "
                              "the runner needs no torch and passes every command through "
                              "the safety limits below."))
        self.runs = QTableWidget(0, 4)
        self.runs.setHorizontalHeaderLabels(["run", "reward", "success", "bundle"])
        self.runs.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs.setMaximumHeight(120)
        self.export_button = QPushButton("Export the selected run")
        layout.addWidget(self.runs)
        layout.addWidget(self.export_button)

        self.limits = LimitsEditor()
        self.limits.setMaximumHeight(170)
        watchdog = QWidget()
        QFormLayout(watchdog).addRow("Watchdog", self.limits.watchdog)
        self.save_limits = QPushButton("Check and save limits")
        layout.addWidget(_group("Safety limits (per action, in the bundle's command units)",
                                self.limits, watchdog, self.save_limits))
        self.robot = RobotForm()
        self.run_button = QPushButton("Run the bundle")
        self.replay_button = QPushButton("Sim-to-real: replay a real SO-101's LeRobot dataset…")
        self.replay_button.setToolTip(
            "its recorded commands drive the simulated SO-101; the table shows how far each "
            "simulated joint ends from the real measurement")
        self.lerobot_button = QPushButton("Try a policy LeRobot trained on the twin…")
        self.lerobot_button.setToolTip(
            "lerobot-train's pretrained_model folder (ACT, diffusion, ...) runs on the simulated "
            "SO-101 in this scene as lerobot-record runs it on the real one: its success per "
            "episode (it runs in LeRobot's Python: WORKBENCH_LEROBOT_PYTHON)")
        layout.addWidget(_group("Robot", self.robot, self.run_button, self.replay_button,
                                self.lerobot_button))
        self.live = LiveView()
        self.live.setMaximumHeight(220)
        self.live_group = _group("Live", self.live, self.live.observation)
        layout.addWidget(self.live_group)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        layout.addWidget(self.details)

        self.stop_button.clicked.connect(lambda: session.jobs.stop("run"))
        self.export_button.clicked.connect(self._export)
        self.save_limits.clicked.connect(self._save_limits)
        self.run_button.clicked.connect(self._run)
        self.replay_button.clicked.connect(self._replay)
        self.lerobot_button.clicked.connect(self._try_lerobot_policy)
        self.runs.itemSelectionChanged.connect(self._select)
        session.events.subscribe(JobUpdate, lambda e: self._on_job(e.name, e.event))
        session.events.subscribe(SceneChanged, lambda e: self.refresh())
        self.refresh()

    # -- the runs and their bundles --------------------------------------------------------------
    def refresh(self) -> None:
        """List the scene's trained runs, keeping the selection."""
        selected = self.run_path
        self.entries = self.session.jobs.exportable_runs()
        self.runs.setRowCount(len(self.entries))
        for row, run in enumerate(self.entries):
            success = run["metrics"].get("success_rate")
            cells = (Path(run["path"]).name, str(run["metrics"].get("reward") or ""),
                     "" if success is None else f"{success:.0%}",
                     "exported" if run["bundle"] else "—")
            for column, text in enumerate(cells):
                self.runs.setItem(row, column, QTableWidgetItem(text))
        rows = [i for i, r in enumerate(self.entries) if r["path"] == selected]
        if rows or self.entries:
            self.runs.selectRow(rows[0] if rows else 0)
        self._select()

    def _select(self) -> None:
        rows = self.runs.selectionModel().selectedRows() if self.entries else []
        run = self.entries[rows[0].row()] if rows else None
        path, bundle = (run["path"], run["bundle"]) if run else (None, None)
        if (path, bundle) == (self.run_path, self.bundle) and self.limits.bundle is not None:
            return  # the same bundle: keep unsaved edits of its limits
        self.run_path = path
        self.show_bundle(bundle)

    def show_bundle(self, bundle: str | None) -> None:
        self.bundle = bundle
        try:
            self.meta = read_bundle(bundle) if bundle else None
        except (OSError, BundleError) as exc:  # a bundle edited or broken since its export
            self.meta, self.bundle = None, None
            self.session.events.problem(str(exc))
        self.limits.show_bundle(self.bundle, self.meta)
        self.live.labels = list((self.meta or {}).get("action", {}).get("labels") or [])
        for widget in (self.save_limits, self.run_button):
            widget.setEnabled(self.bundle is not None)
        self.export_button.setEnabled(self.run_path is not None)

    # -- actions -------------------------------------------------------------------------------
    def _export(self) -> None:
        try:
            self.session.jobs.export(Path(self.run_path) if self.run_path else None)
            self.status.setText("exporting…")
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))

    def _save_limits(self) -> None:
        try:
            saved = self.session.jobs.save_limits(self.limits.request())
        except (ValueError, RuntimeError) as exc:  # refused: bundle.json is unchanged
            self.status.setText(f"limits not saved: {exc}")
            return
        self.status.setText(f"limits saved in {saved['bundle']}/bundle.json")
        self.show_bundle(self.bundle)

    def _run(self) -> None:
        if not self.bundle:
            return
        try:
            request = self.robot.request(self.bundle)
            self.session.jobs.run_bundle(request, keep=self.robot.keep())
        except (ConfigError, ValueError, RuntimeError) as exc:
            self.status.setText(f"not started: {exc}")
            return
        if request.takeover == "keyboard":
            try:
                self.keys.start(tuple((self.meta or {}).get("action", {}).get("labels", ())))
            except ValueError:  # joint commands: the runner refuses the run in one line
                pass
        self.live.setRowCount(0)
        self.scroll.ensureWidgetVisible(self.live_group)
        self.status.setText(f"running on {self.robot.driver.currentText()}…")

    def _replay(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A LeRobot dataset of the real SO-101")
        if not folder:
            return
        try:
            self.session.jobs.sim_to_real(folder)
            self.status.setText("replaying the dataset in simulation…")
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))

    def _try_lerobot_policy(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "lerobot-train's pretrained_model folder (checkpoints/last/pretrained_model)")
        if not folder:
            return
        try:
            episodes = self.robot.fields["episodes"]  # the bundle runs' count
            assert isinstance(episodes, QSpinBox)
            self.session.jobs.lerobot_eval(folder, episodes=episodes.value())
            self.status.setText("running LeRobot's policy on the simulated robot…")
        except (RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.refresh()  # runs trained or removed while another panel was in front
        super().showEvent(event)

    def _on_job(self, name: str, event: Any) -> None:
        if name == "train" and event.kind in ("done", "stopped"):
            self.refresh()
        if name == "run" and event.kind == "telemetry":
            self.live.show_tick(event.data)
        elif name == "export" and event.kind == "done":
            parity = event.data["parity"]
            self.status.setText(
                f"bundle at {event.data['bundle']} · parity "
                f"{'passed' if parity['passed'] else 'FAILED'} "
                f"(ONNX max |diff| {parity['onnx_max_abs_diff']:.1e})")
            self.refresh()
        elif name == "run" and event.kind in ("done", "stopped"):
            self.status.setText(_run_summary(event.kind, event.data))
            self.details.setText("safety interventions: " + json.dumps(
                event.data.get("interventions", {})))
        elif name == "sim-to-real" and event.kind == "done":
            report = event.data
            self.status.setText(f"sim-to-real: {report['frames']} frames of "
                                f"{report['episodes']} episodes replayed ({report['units']})")
            self.details.setText("\n".join(
                f"{joint}: RMS {e['rms']:.2f}, max {e['max']:.2f}, bias {e['bias']:+.2f}"
                for joint, e in report["joints"].items()))
        elif name == "lerobot-eval" and event.kind == "done":
            report = event.data
            self.status.setText(
                f"LeRobot {report['type']} policy on the simulated {report['robot']}: success "
                f"{report['success_rate']:.0%} over {len(report['episodes'])} episodes of "
                f"{report['scene']} (mean return {report['mean_return']:.1f})")
            self.details.setText(" · ".join(
                f"seed {e['seed']}: {'success' if e['success'] else 'failed'}"
                for e in report["episodes"]))
        if name == "run" and event.kind in ("done", "stopped", "error"):
            self.keys.stop()
        if name in ("export", "run", "sim-to-real", "lerobot-eval") and event.kind == "error":
            self.status.setText(f"{name} failed: {event.data.get('message')}")


def _group(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for widget in widgets:
        layout.addWidget(widget)
    return box


def _run_summary(kind: str, result: dict[str, Any]) -> str:
    halted = kind == "stopped" or result.get("halted")
    head = "stopped by you; the robot holds" if halted else "runner finished"
    if "success_rate" in result:
        text = (f"{head}: success {result['success_rate']:.0%} over "
                f"{result.get('episodes', 0)} episodes")
        kept = result.get("recorded_episodes")
        failed = result.get("episode_success", []).count(False)
        if kept and not result.get("human_ticks") and failed:
            text += (f" · {len(kept)} recorded in the workspace; refit the reward to learn "
                     f"from the {failed} failed")
        elif kept:
            text += (f" · {len(kept)} recorded in the workspace (a take-over you finished is a "
                     f"demo for the next reward fit)" if result.get("human_ticks") else
                     f" · {len(kept)} recorded in the workspace")
        if result.get("video"):
            text += f" · filmed into {result['video']}"
        return text
    return f"{head} after {result.get('steps', 0)} steps"
