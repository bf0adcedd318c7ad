"""Train: PPO on the learned reward in a worker process; start, pause, resume, stop, continue a
stopped run; live plots of learned return against true success and the curriculum's difficulty;
the hacking alarm; the newest policy acting in the viewport."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QWidget,
)

from gui.panels.common import curve_key, heading, key_text, note, offer_robots, scrolling
from gui.panels.config_form import ConfigForm, rebased
from gui.panels.history import RunHistory, learning_curve
from gui.panels.sweep import SweepBox
from workbench.config import ConfigError
from workbench.rl.run_config import ALGORITHMS as RUN_ALGORITHMS
from workbench.rl.run_config import RunConfig
from workbench.session import Session
from workbench.session.events import DifficultyChanged, JobUpdate, SceneChanged

ALARM_STYLE = "color: #c0392b; font-weight: bold"
ONLINE = "learn from rankings while training"
# RunConfig fields the panel's own widgets set; the rest are under "More settings".
OWN_FIELDS = ("scene", "algorithm", "reward", "reward_model", "goal", "transform",
              "difficulty", "curriculum", "online_feedback", "ppo.total_steps",
              "sac.total_steps")
ALGORITHMS = {name.upper(): name for name in RUN_ALGORITHMS}  # shown as PPO, SAC


class TrainPanel(QWidget):
    def __init__(self, session: Session):
        super().__init__()
        self.session = session
        self._live_robot = session.robot  # the Record panel's, which the robot list follows
        self._live_difficulty = session.difficulty  # the Record panel's, which difficulty follows
        layout = scrolling(self)
        layout.addWidget(heading("Train a policy on the learned reward"))
        layout.addWidget(note("The viewport shows the newest policy snapshot while it trains."))
        layout.addLayout(self._settings())
        self.more_toggle, self.more = self._more_settings()
        layout.addWidget(self.more_toggle)
        layout.addWidget(self.more)
        layout.addLayout(self._buttons())
        for widget in self._status_lines():
            layout.addWidget(widget)
        layout.addWidget(self._plot(), 2)  # the curves get twice the room of the runs table
        layout.addWidget(self.key)
        layout.addWidget(note("Past runs of this scene (select one to see its success curve):"))
        self.runs = RunHistory()
        self.runs.setMinimumHeight(90)
        self.runs.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.runs.itemSelectionChanged.connect(self._show_past_run)
        layout.addWidget(self.runs, 1)
        self.sweep_toggle = QToolButton()
        self.sweep_toggle.setText("Sweep on Ray…")
        self.sweep_toggle.setCheckable(True)
        self.sweep = SweepBox(session, self.sweep_base)
        self.sweep.setVisible(False)
        self.sweep_toggle.toggled.connect(self.sweep.setVisible)
        layout.addWidget(self.sweep_toggle)
        layout.addWidget(self.sweep)
        self.history: list[tuple[int, float, float, float | None]] = []
        # The guard's checks: (step, success) and (step, reference return / most an episode pays)
        self.evaluations: list[tuple[int, float]] = []
        self.checked_returns: list[tuple[int, float]] = []
        self.labels_used: int | None = None
        self.start.clicked.connect(self._start)
        self.pause.toggled.connect(self._pause)
        self.stop.clicked.connect(lambda: session.jobs.stop("train"))
        self.resume_run.clicked.connect(self._continue)
        session.events.subscribe(JobUpdate, lambda e: self._on_job(e.name, e.event))
        session.events.subscribe(SceneChanged, lambda e: self._scene_changed())
        self._sync(False)
        self.refresh()

    def _scene_changed(self) -> None:
        # The settings start from the new scene's (what its online reward reads), keeping
        # what the person changed where the new scene does not set it.
        self.more.setWidget(self._more_form(self.more.widget()))
        self._sync(False)
        self.refresh()

    def _settings(self) -> QFormLayout:
        """The settings a person changes most (OWN_FIELDS), each with its own widget."""
        form = QFormLayout()
        self.steps = QSpinBox()
        self.steps.setRange(2_048, 5_000_000)
        self.steps.setSingleStep(10_000)
        self.steps.setValue(80_000)
        self.reward = QComboBox()
        self.reward.setToolTip(
            "the latest learned reward model, the scene's reference reward, any stored model "
            "(with its family and report), or a preference reward learned while training: the "
            "policy's newest episodes appear on the Rank panel and the reward refits on your "
            "labels every few updates")
        self.goal = QLineEdit()
        self.goal.setPlaceholderText("optional goal sentence, e.g. push the cube onto the blue pad")
        self.goal.setToolTip("train toward what the sentence names (the grounded reward, or a "
                             "vision-language model chosen above)")
        self.transform = QComboBox()
        self.transform.addItems(["progress", "delta"])
        self.transform.setToolTip("progress: r = phi(s'); delta: r = gamma*phi(s') - phi(s), "
                                  "potential-based shaping that a policy cannot farm")
        self.difficulty = QDoubleSpinBox()
        self.difficulty.setRange(0.0, 1.0)
        self.difficulty.setSingleStep(0.25)
        self.difficulty.setValue(self.session.difficulty)
        self.difficulty.setToolTip("the scene's difficulty the run trains at (where the "
                                   "curriculum starts); follows the Record panel's, which the "
                                   "takes are recorded at, unless set here")
        self.session.events.subscribe(DifficultyChanged,
                                      lambda e: self._follow_difficulty(e.difficulty))
        self.algorithm = QComboBox()
        self.algorithm.addItems(list(ALGORITHMS))
        self.algorithm.setToolTip(
            "PPO: many envs, on-policy, every setting under More settings (ppo.*). SAC: one "
            "env, off-policy, more learning per step (sac.*); with 'takeovers' it also learns "
            "from the steps a person took over in the scene's recorded episodes")
        self.curriculum = QCheckBox("start easy, raise with competence")
        self.curriculum.setToolTip("competence-based curriculum: difficulty steps up when the "
                                   "recent true success passes 70% and back when it collapses")
        for label, widget in (("algorithm", self.algorithm),
                              ("environment steps", self.steps), ("reward", self.reward),
                              ("goal", self.goal),
                              ("shaping", self.transform), ("difficulty", self.difficulty),
                              ("curriculum", self.curriculum)):
            form.addRow(label, widget)
        return form

    def _follow_difficulty(self, live: float) -> None:
        """The Record panel's new difficulty, unless another was set here."""
        if abs(self.difficulty.value() - self._live_difficulty) < 0.005:  # shown to 2 places
            self.difficulty.setValue(live)
        self._live_difficulty = live

    def _more_settings(self) -> tuple[QToolButton, QScrollArea]:
        """Every other RunConfig field, generated from its metadata, folded away."""
        toggle = QToolButton()
        toggle.setText("More settings")
        toggle.setCheckable(True)
        more = QScrollArea()
        more.setWidgetResizable(True)
        more.setMinimumHeight(200)  # open, the panel scrolls rather than squeeze it
        more.setMaximumHeight(260)
        more.setWidget(self._more_form(None))
        more.setVisible(False)
        toggle.toggled.connect(more.setVisible)
        return toggle, more

    def _more_form(self, old: ConfigForm | None) -> ConfigForm:
        """The scene's settings with the person's edits of ``old`` kept where they still hold;
        its robot list offers the robots that can run the scene, not every one registered, and
        follows the robot takes are recorded with unless another was chosen here."""
        form = rebased(old, RunConfig.for_scene(self.session.scene), OWN_FIELDS)
        robots = form.widget("robot")
        chosen = robots.currentData()
        offered = self.session.robots()
        # It follows the Record panel's robot, unless another was chosen here that the scene
        # still offers.
        if chosen == self._live_robot or chosen not in offered[1:]:
            chosen = self.session.robot
        self._live_robot = self.session.robot
        offer_robots(robots, offered, chosen)
        return form

    def _buttons(self) -> QHBoxLayout:
        """Start, pause, stop, and continue the newest stopped run."""
        row = QHBoxLayout()
        self.start = QPushButton("Start training")
        self.pause = QPushButton("Pause")
        self.pause.setCheckable(True)
        self.stop = QPushButton("Stop")
        self.resume_run = QPushButton("Continue stopped run")
        self.resume_run.setToolTip("continue the newest stopped run exactly from its checkpoint")
        for button in (self.start, self.pause, self.stop, self.resume_run):
            row.addWidget(button)
        return row

    def _status_lines(self) -> tuple[QWidget, ...]:
        """The progress bar, the job's status and the hacking alarm (hidden until it rings)."""
        self.bar = QProgressBar()
        self.status = QLabel("idle")
        self.status.setWordWrap(True)
        self.alarm = QLabel("")
        self.alarm.setWordWrap(True)
        self.alarm.setStyleSheet(ALARM_STYLE)
        self.alarm.hide()  # an empty line between the status and the plot otherwise
        return self.bar, self.status, self.alarm

    def _plot(self) -> pg.PlotWidget:
        """Learned return against true success (and the curriculum's difficulty, the guard's
        checks, a past run's success), with its key in ``self.key``."""
        self.plot = pg.PlotWidget(title="learned return and true success")
        self.plot.setLabel("bottom", "environment steps")
        # Grow into the room there is, never below 180 px: a preferred height of its own
        # would make the scroll area (its wrapped labels ask height-for-width) scroll always.
        self.plot.setMinimumHeight(180)
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        # (colour, line in the key, name) of each curve; the key names the last four only
        # while they are drawn (the guard's checks, a run with a curriculum, a past run chosen)
        self.curves = dict(
            learned=("#2980b9", "solid", "learned return / max"),
            success=("#27ae60", "solid", "true success, training episodes"),
            evaluated=("#1e8449", "marker", "true success, mean action"),
            checked_return=("#d35400", "marker", "reference return / max, mean action"),
            difficulty=("#8e44ad", "dash", "curriculum difficulty"),
            past=("#7f8c8d", "dot", "selected past run: true success"))
        learned, success, evaluated, checked_return, difficulty, past = self.curves.values()
        self.learned_curve = self.plot.plot(pen=pg.mkPen(learned[0], width=2))
        self.success_curve = self.plot.plot(pen=pg.mkPen(success[0], width=2))
        # The guard's checks: the mean action (what an export runs) on episodes of its own.
        self.evaluated_curve = self.plot.plot(
            pen=pg.mkPen(evaluated[0], width=2), symbol="o", symbolSize=6,
            symbolBrush=evaluated[0])
        # Its second witness, the scene's reference return: progress where success stays rare.
        self.checked_return_curve = self.plot.plot(
            pen=pg.mkPen(checked_return[0], width=2), symbol="t", symbolSize=7,
            symbolBrush=checked_return[0])
        self.difficulty_curve = self.plot.plot(
            pen=pg.mkPen(difficulty[0], width=2, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.past_curve = self.plot.plot(
            pen=pg.mkPen(past[0], width=1, style=pg.QtCore.Qt.PenStyle.DotLine))
        self.key = curve_key(learned, success)
        return self.plot

    def refresh(self) -> None:
        """The stored models and past runs of the scene, as the workspace has them now."""
        chosen = self.reward.currentData()
        self.reward.blockSignals(True)
        self.reward.clear()
        for label, reward, model in self.session.rewards.train_choices():
            self.reward.addItem(label, (reward, model))
        self.reward.addItem(ONLINE, (ONLINE, ""))
        found = [i for i in range(self.reward.count()) if self.reward.itemData(i) == chosen]
        self.reward.setCurrentIndex(found[0] if found else 0)
        self.reward.blockSignals(False)
        self.runs.show_runs(self.session.jobs.past_runs())

    def _show_past_run(self) -> None:
        rows = {index.row() for index in self.runs.selectedIndexes()}
        if rows:
            self.past_curve.setData(*learning_curve(self.runs.runs[min(rows)]["path"]))
        else:
            self.past_curve.setData([], [])
        self._show_key()

    def _show_key(self) -> None:
        """Name the curves drawn now (learned return and success always)."""
        drawn = {"learned", "success"} | {
            name for name, curve in (("evaluated", self.evaluated_curve),
                                     ("checked_return", self.checked_return_curve),
                                     ("difficulty", self.difficulty_curve),
                                     ("past", self.past_curve)) if curve.xData is not None
            and len(curve.xData)}
        self.key.setText(key_text(*(spec for name, spec in self.curves.items() if name in drawn)))

    def run_config(self, **own: Any) -> RunConfig:
        """The run the widgets describe, with ``own`` values put in (ConfigError naming the
        field when one is refused)."""
        reward, model = self.reward.currentData()
        online = reward == ONLINE
        algorithm = ALGORITHMS[self.algorithm.currentText()]
        return self.more.widget().config({
            "scene": self.session.scene, "online_feedback": online, "algorithm": algorithm,
            "reward": "latest" if online else reward, "reward_model": model,
            "goal": self.goal.text().strip(), "transform": self.transform.currentText(),
            "difficulty": self.difficulty.value(), "curriculum": self.curriculum.isChecked(),
            f"{algorithm}.total_steps": self.steps.value(), **own})

    def sweep_base(self) -> tuple[RunConfig, str]:
        """The run every sweep trial starts from, and the cluster "More settings" names: where
        the trials run (each steps its envs in its own worker, so not on a cluster of its
        own)."""
        cluster = self.more.widget().readers["cluster"]().strip()
        return self.run_config(cluster=""), cluster or "auto"

    def _start(self) -> None:
        self._launch(lambda: self.session.jobs.train(self.run_config()))

    def _continue(self) -> None:
        self._launch(self.session.jobs.continue_training)

    def _launch(self, start) -> None:
        try:
            start()
        except (ConfigError, RuntimeError, ValueError) as exc:
            self.session.events.problem(str(exc))
            return
        self.history.clear()
        self.evaluations.clear()
        self.checked_returns.clear()
        self.evaluated_curve.setData([], [])
        self.checked_return_curve.setData([], [])
        self.difficulty_curve.setData([], [])  # a run without a curriculum draws none
        self._show_key()
        self.labels_used = None
        self._set_alarm("")
        self.bar.setFormat("%p%")
        self._sync(True)
        self.status.setText("starting worker…")

    def _set_alarm(self, text: str) -> None:
        self.alarm.setText(text)
        self.alarm.setVisible(bool(text))

    def _pause(self, on: bool) -> None:
        if on:
            self.session.jobs.pause("train")
        else:
            self.session.jobs.resume("train")

    def _sync(self, running: bool) -> None:
        self.start.setEnabled(not running)
        self.pause.setEnabled(running)
        self.stop.setEnabled(running)
        self.resume_run.setEnabled(not running and self.session.jobs.resumable_run() is not None)
        if not running:
            self.pause.blockSignals(True)
            self.pause.setChecked(False)
            self.pause.setText("Pause")
            self.pause.blockSignals(False)

    def _on_job(self, name: str, event) -> None:
        if name == "reward" and event.kind in ("done", "stopped"):
            self.refresh()  # a new model to train on
        if name != "train":
            return
        data = event.data
        if event.kind == "progress":
            self._show_progress(data)
        elif event.kind == "paused":
            self.pause.setText("Resume")
            self.status.setText(self.status.text() + " · paused")
        elif event.kind == "resumed":
            self.pause.setText("Pause")
        elif event.kind in ("done", "stopped", "error"):
            self._sync(False)
            self.refresh()
            if event.kind == "error":
                self.status.setText(f"failed: {data.get('message')}")
                return
            text = (f"{event.kind}: evaluation success {data.get('success_rate', 0):.0%} "
                    f"(run {data.get('run_id')})")
            if data.get("films"):  # film_every: the policy as it learned, to watch again
                text += f" · films in {data['films']}"
            if data.get("hacking_alarm"):
                self._set_alarm(f"⚠ {data['hacking_alarm']}; rolled back to step "
                                   f"{data['rolled_back_to_step']}.")
            # A bar left part way reads as a stalled run unless it says who ended it.
            if data.get("hacking_alarm"):
                self.bar.setFormat("stopped by the hacking guard at %p% of its steps")
            elif event.kind == "stopped":
                self.bar.setFormat("stopped at %p% of its steps")
            self.status.setText(text)

    def _show_progress(self, data: dict) -> None:
        extras = data.get("extras", {})
        episode_steps = self.session.live.episode_steps
        self.history.append((data["step"], data["learned_return"] / episode_steps,
                             data["success_rate"], extras.get("curriculum/difficulty")))
        steps = [h[0] for h in self.history]
        self.learned_curve.setData(steps, [h[1] for h in self.history])
        self.success_curve.setData(steps, [h[2] for h in self.history])
        if "monitor/eval_success" in extras:
            self.evaluations.append((data["step"], extras["monitor/eval_success"]))
            self.evaluated_curve.setData(*zip(*self.evaluations, strict=True))
        if "monitor/eval_return" in extras:
            self.checked_returns.append((data["step"], extras["monitor/eval_return"]
                                         / self.session.live.most_reference_return))
            self.checked_return_curve.setData(*zip(*self.checked_returns, strict=True))
        stages = [(h[0], h[3]) for h in self.history if h[3] is not None]
        if stages:
            self.difficulty_curve.setData(*zip(*stages, strict=True))
        self._show_key()
        self.bar.setMaximum(data["total_steps"])
        self.bar.setValue(data["step"])
        stage = (f" · difficulty {extras['curriculum/difficulty']:.2f}"
                 if "curriculum/difficulty" in extras else "")
        if "feedback/labels" in extras:
            self.labels_used = int(extras["feedback/labels"])
        if self.labels_used is not None:
            stage += f" · reward refitted on {self.labels_used} labels"
        checked = [f"mean action {self.evaluations[-1][1]:.0%}"] if self.evaluations else []
        if self.checked_returns:
            checked.append(f"reference return {self.checked_returns[-1][1]:.0%} of its most")
        evaluated = f" ({', '.join(checked)})" if checked else ""
        self.status.setText(f"{data['step']} steps · {data['fps']:.0f} steps/s · "
                            f"success {data['success_rate']:.0%}{evaluated}{stage}")
        if extras.get("monitor/alarm"):
            self._set_alarm("⚠ reward hacking suspected: the learned return holds while the "
                            "scene's true measure falls, on fresh episodes too; stopping and "
                            "rolling back to the best policy by it")
