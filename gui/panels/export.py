"""Export: write the policy bundle, show its parity check, run it through the torch-free runner."""

from __future__ import annotations

import json

from PyQt6.QtWidgets import QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from gui.panels.common import heading, note
from workbench.session import Session
from workbench.session.events import JobUpdate


class ExportPanel(QWidget):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self.bundle: str | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Export the policy for a robot"))
        layout.addWidget(note("ONNX + TorchScript + bundle.json; parity checked against torch."))
        self.export_button = QPushButton("Export latest policy")
        self.run_button = QPushButton("Run bundle in simulation (no torch)")
        self.run_button.setEnabled(False)
        self.status = QLabel("")
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        for widget in (self.export_button, self.run_button, self.status):
            layout.addWidget(widget)
        layout.addWidget(self.details, 1)
        self.export_button.clicked.connect(self._export)
        self.run_button.clicked.connect(self._run)
        session.events.subscribe(JobUpdate, lambda e: self._on_job(e.name, e.event))

    def _export(self) -> None:
        try:
            self.session.jobs.export()
            self.status.setText("exporting…")
        except RuntimeError as exc:
            self.session.events.problem(str(exc))

    def _run(self) -> None:
        if self.bundle:
            self.session.jobs.run_export(self.bundle)
            self.status.setText("running the bundle…")

    def _on_job(self, name: str, event) -> None:
        if name == "export" and event.kind == "done":
            self.bundle = event.data["bundle"]
            parity = event.data["parity"]
            self.status.setText(
                f"bundle at {self.bundle} · parity "
                f"{'passed' if parity['passed'] else 'FAILED'} "
                f"(ONNX max |diff| {parity['onnx_max_abs_diff']:.1e})"
            )
            self.details.setPlainText(json.dumps(event.data, indent=1))
            self.run_button.setEnabled(True)
        elif name == "run" and event.kind == "done":
            self.status.setText(
                f"runner: success {event.data['success_rate']:.0%} over the episodes, "
                f"mean return {event.data['mean_return']:.1f}"
            )
        elif name in ("export", "run") and event.kind == "error":
            self.status.setText(f"{name} failed: {event.data.get('message')}")
