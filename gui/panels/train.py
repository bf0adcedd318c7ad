"""Train: PPO on the learned reward in a worker process; live plots; the policy in the viewport."""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.panels.common import heading, note
from workbench.session import Session


class TrainPanel(QWidget):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Train a policy on the learned reward"))
        layout.addWidget(note("The viewport shows the newest policy snapshot while it trains."))
        form = QFormLayout()
        self.steps = QSpinBox()
        self.steps.setRange(5_000, 5_000_000)
        self.steps.setSingleStep(10_000)
        self.steps.setValue(80_000)
        self.reward = QComboBox()
        self.reward.addItems(["latest", "reference"])
        self.reward.setToolTip("latest learned reward model, or the scene's reference reward")
        self.transform = QComboBox()
        self.transform.addItems(["progress", "delta"])
        self.transform.setToolTip("progress: r = phi(s'); delta: r = gamma*phi(s') - phi(s)")
        form.addRow("environment steps", self.steps)
        form.addRow("reward", self.reward)
        form.addRow("shaping", self.transform)
        layout.addLayout(form)
        self.start = QPushButton("Start training")
        self.stop = QPushButton("Stop")
        self.stop.setEnabled(False)
        self.bar = QProgressBar()
        self.status = QLabel("idle")
        for widget in (self.start, self.stop, self.bar, self.status):
            layout.addWidget(widget)
        self.plot = pg.PlotWidget(title="learned return and true success")
        self.plot.setLabel("bottom", "environment steps")
        self.plot.addLegend()
        self.learned_curve = self.plot.plot(pen=pg.mkPen("#2980b9", width=2),
                                            name="learned return / max")
        self.success_curve = self.plot.plot(pen=pg.mkPen("#27ae60", width=2),
                                            name="true success rate")
        layout.addWidget(self.plot, 1)
        self.history: list[tuple[int, float, float]] = []
        self.start.clicked.connect(self._start)
        self.stop.clicked.connect(lambda: session.stop_job("train"))
        session.subscribe("job", self._on_job)

    def _start(self) -> None:
        overrides = (
            f"ppo.total_steps={self.steps.value()}",
            f"reward={self.reward.currentText()}",
            f"transform={self.transform.currentText()}",
        )
        try:
            self.session.train(overrides)
        except RuntimeError as exc:
            self.session.emit("error", message=str(exc))
            return
        self.history.clear()
        self.start.setEnabled(False)
        self.stop.setEnabled(True)
        self.status.setText("starting worker…")

    def _on_job(self, name: str, event) -> None:
        if name != "train":
            return
        data = event.data
        if event.kind == "progress":
            episode_steps = self.session.env.task.episode_steps
            self.history.append(
                (data["step"], data["learned_return"] / episode_steps, data["success_rate"])
            )
            steps, learned, success = zip(*self.history, strict=True)
            self.learned_curve.setData(steps, learned)
            self.success_curve.setData(steps, success)
            self.bar.setMaximum(data["total_steps"])
            self.bar.setValue(data["step"])
            self.status.setText(
                f"{data['step']} steps · {data['fps']:.0f} steps/s · "
                f"success {data['success_rate']:.0%}"
            )
        elif event.kind in ("done", "stopped", "error"):
            self.start.setEnabled(True)
            self.stop.setEnabled(False)
            if event.kind == "error":
                self.status.setText(f"failed: {data.get('message')}")
            else:
                text = (f"{event.kind}: evaluation success {data.get('success_rate', 0):.0%} "
                        f"(run {data.get('run_id')})")
                if data.get("hacking_alarm"):
                    text = (f"⚠ {data['hacking_alarm']}; rolled back to step "
                            f"{data['rolled_back_to_step']}. " + text)
                    self.status.setStyleSheet("color: #c0392b")
                self.status.setText(text)
