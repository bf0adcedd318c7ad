"""The Train panel's sweep: a grid of the run's settings x seeds on Ray Tune (ASHA on true
success), then the ranked settings and every trial's learning curve."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PyQt6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from workbench.config import ConfigError
from workbench.operations.training import Sweep
from workbench.rl.run_config import RunConfig
from workbench.session import Session
from workbench.session.events import JobUpdate

COLUMNS = ("settings", "mean success", "std", "finished", "stopped early", "failed",
           "not started")


class SweepBox(QGroupBox):
    """``sweep_base`` gives the settings every trial starts from (the Train panel's) and the
    cluster the trials run on."""

    def __init__(self, session: Session, sweep_base: Callable[[], tuple[RunConfig, str]]):
        super().__init__("Sweep on Ray (optional: pip install 'robot-reward-workbench[ray]')")
        self.session, self.sweep_base = session, sweep_base
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.grid = QLineEdit(placeholderText="ppo.lr=1e-4,3e-4 ppo.ent_coef=0,0.01")
        self.grid.setToolTip("KEY=V1,V2,... per swept setting, separated by spaces; every "
                             "combination trains with each seed")
        self.seeds = QSpinBox(minimum=1, maximum=100, value=2)
        self.start = QPushButton("Sweep")
        self.start.setToolTip("the trials run on the Ray cluster that More settings name "
                              "(empty: RAY_ADDRESS, else a local Ray instance), each "
                              "stepping its own envs")
        self.stop = QPushButton("Stop sweep")
        self.go_on = QPushButton("Continue sweep")
        self.go_on.setToolTip("go on with the trials of the sweep shown below that were "
                              "stopped by hand or had not started, each run from its last "
                              "checkpoint, ASHA from the scores its rungs had")
        self.go_on.setEnabled(False)
        self.retry = QPushButton("Retry failed trials")
        self.retry.setToolTip("once what made them fail is mended: start the failed trials "
                              "of the sweep shown below again from the start, and go on with "
                              "any stopped by hand or not started")
        self.retry.setEnabled(False)
        self.shown: Path | None = None  # the sweep folder whose results are shown
        for widget, label in ((self.grid, "grid"), (self.seeds, "seeds")):
            row.addWidget(QLabel(label))
            row.addWidget(widget, 1 if widget is self.grid else 0)
        layout.addLayout(row)
        buttons = QHBoxLayout()  # a row of their own: the grid takes the width above
        for button in (self.start, self.stop, self.go_on, self.retry):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setMaximumHeight(150)
        # The settings take the room; the counts, only their own width (at the default width
        # each, six columns left the settings a few pixels in a 560-pixel panel).
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        self.plot = pg.PlotWidget(title="sweep: true success of each trial")
        self.plot.setYRange(0, 1.05)  # a success rate, also when every trial stays at 0
        self.plot.setMinimumHeight(160)
        self.plot.setMaximumHeight(180)
        layout.addWidget(self.plot)
        self.start.clicked.connect(self._start)
        self.stop.clicked.connect(lambda: session.jobs.stop("sweep"))
        self.go_on.clicked.connect(lambda: self._submit(self.continuing,
                                                        "going on with the sweep…"))
        self.retry.clicked.connect(lambda: self._submit(lambda: self.continuing(
            retry_failed=True), "running the failed trials again…"))
        session.events.subscribe(JobUpdate, lambda e: self._on_job(e.name, e.event))
        self.show_newest()

    def show_newest(self) -> None:
        """The workspace's newest sweep, so that one stopped before the app was closed can go
        on."""
        found = sorted(Path(self.session.context.workspace.root).glob("sweeps/*/results.json"),
                       key=lambda p: p.stat().st_mtime)
        if found:
            try:
                self.show_results(found[-1])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.status.setText(f"{found[-1]} could not be read: {exc}")
                return
            self.status.setText(f"newest sweep: {found[-1].with_name('report.md')}")

    def request(self) -> Sweep:
        config, cluster = self.sweep_base()
        return Sweep(config=config, cluster=cluster, grid=tuple(self.grid.text().split()),
                     seeds=self.seeds.value(), workspace=self.session.context.workspace.root)

    def continuing(self, retry_failed: bool = False) -> Sweep:
        """The request that goes on with the sweep shown (``retry_failed``: its failed
        trials too, from the start)."""
        assert self.shown is not None, "Continue sweep is enabled once a sweep is shown"
        _, cluster = self.sweep_base()
        return Sweep(config=RunConfig.for_scene(self.scene_of_shown()), cluster=cluster,
                     resume=self.shown, retry_failed=retry_failed,
                     workspace=self.session.context.workspace.root)

    def scene_of_shown(self) -> str:
        assert self.shown is not None
        return str(json.loads((self.shown / "sweep.json").read_text())["base"]["scene"])

    def _start(self) -> None:
        self._submit(self.request, "sweeping…")

    def _submit(self, request: Callable[[], Sweep], said: str) -> None:
        try:
            self.session.jobs.submit("sweep", request())
        except (ConfigError, ValueError, RuntimeError, OSError) as exc:
            self.status.setText(f"not started: {exc}")
            return
        self.go_on.setEnabled(False)
        self.retry.setEnabled(False)
        self.status.setText(said)

    def _on_job(self, name: str, event: Any) -> None:
        if name != "sweep":
            return
        if event.kind == "message":  # where the trials run, how the recordings travel
            self.status.setText(event.data.get("text", ""))
        elif event.kind == "progress":
            self.status.setText(f"{event.data.get('done')} of {event.data.get('total')} "
                                "trials done")
        elif event.kind in ("done", "stopped") and "report" in event.data:
            failed = self.show_results(Path(event.data["report"]).with_name("results.json"))
            note = f" ({failed} trials failed: their errors are in the report)" if failed else ""
            self.status.setText(f"report: {event.data['report']}{note}")
        elif event.kind == "error":  # it let go of its results: what it left can go on
            self.show_newest()
            self.status.setText(f"sweep failed: {event.data.get('message')}")

    def show_results(self, path: Path) -> int:
        """Fill the table and the plot; the number of trials that failed."""
        results = json.loads(path.read_text())
        self.shown = path.parent
        planned = (path.parent / "sweep.json").is_file()  # a sweep that can go on
        self.go_on.setEnabled(bool(results.get("going_on")) and planned)
        self.retry.setEnabled(planned and any(row["failed"] for row in results["ranking"]))
        self.table.setRowCount(len(results["ranking"]))
        for r, row in enumerate(results["ranking"]):
            cells = (row["settings"], *(("-" if row[key] is None else f"{row[key]:.2f}")
                                        for key in ("mean_success", "std")),
                     *(str(row.get(key, 0)) for key in ("finished", "stopped_early", "failed",
                                                         "not_started")))
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.plot.clear()
        for k, trial in enumerate(results["trials"]):
            if trial["curve"]:
                steps, rates = zip(*trial["curve"], strict=True)
                self.plot.plot(list(steps), list(rates), pen=pg.intColor(k, len(results[
                    "trials"])))
        return sum(row["failed"] for row in results["ranking"])
