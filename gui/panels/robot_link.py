"""The Export panel's parts for driving a robot: the safety-limits editor, the robot form (which
driver, where) and the live view of what the runner reads, computes and sends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from workbench.operations.run import RunBundle, SetLimits

LIMIT_COLUMNS = ("low", "high", "max_velocity", "max_acceleration")
CHANGED = QBrush(QColor("#f5b041"))  # a command the safety filter changed
# Who may take over from the policy while it runs, and the RunBundle device that listens.
TAKEOVERS = {"nobody": "", "a person with a gamepad": "gamepad",
             "a person at the keyboard (w/s a/d r/f, space)": "keyboard"}


class LimitsEditor(QTableWidget):
    """One row per action dimension, one column per limit; ``request()`` reads the cells into
    a :class:`SetLimits` (a cell that is not a number is refused naming its row and column)."""

    def __init__(self) -> None:
        super().__init__(0, len(LIMIT_COLUMNS))
        self.setHorizontalHeaderLabels([c.replace("_", " ") for c in LIMIT_COLUMNS])
        self.watchdog = QDoubleSpinBox()
        self.watchdog.setRange(0.001, 2.0)
        self.watchdog.setDecimals(3)
        self.watchdog.setSuffix(" s")
        self.watchdog.setToolTip("stop the robot when no observation arrived for this long")
        self.bundle: Path | None = None

    def show_bundle(self, bundle: str | None, meta: dict[str, Any] | None) -> None:
        self.bundle = Path(bundle) if bundle else None
        safety = (meta or {}).get("safety") or {}
        labels = list((meta or {}).get("action", {}).get("labels") or [])
        dim = len(safety.get("low", []))
        self.setRowCount(dim)
        self.setVerticalHeaderLabels([labels[i] if i < len(labels) else str(i)
                                      for i in range(dim)])
        for column, name in enumerate(LIMIT_COLUMNS):
            for row, value in enumerate(safety.get(name, [])):
                self.setItem(row, column, QTableWidgetItem(f"{value:g}"))
        self.watchdog.setValue(float(safety.get("watchdog_timeout", 0.2)))

    def request(self) -> SetLimits:
        if self.bundle is None:
            raise ValueError("export a run first: there is no bundle to set limits on")
        values: dict[str, tuple[float, ...]] = {}
        for column, name in enumerate(LIMIT_COLUMNS):
            cells = []
            for row in range(self.rowCount()):
                item = self.item(row, column)
                text = item.text() if item is not None else ""
                try:
                    cells.append(float(text))
                except ValueError:
                    label = self.verticalHeaderItem(row)
                    raise ValueError(f"{name} of {label.text() if label else row}: must be a "
                                     f"number, got {text!r}") from None
            values[name] = tuple(cells)
        return SetLimits(bundle=self.bundle, watchdog_timeout=self.watchdog.value(), **values)


DRIVERS = {  # what the person picks -> the fields that driver reads
    "Simulation (the bundle's scene)": ("episodes", "realtime", "keep", "video"),
    "UDP link (HMAC-authenticated)": ("address", "key_file", "listen", "steps"),
    "LeRobot robot": ("robot_type", "port", "robot_id", "episodes"),
    "ROS 2 joint topics": ("namespace", "episodes"),
}


class RobotForm(QWidget):
    """Which driver runs the bundle and where its robot is; ``request(bundle)`` builds the same
    :class:`RunBundle` the CLI's ``workbench run`` builds (and refuses what it refuses)."""

    def __init__(self) -> None:
        super().__init__()
        self.form = QFormLayout(self)
        self.driver = QComboBox()
        self.driver.addItems(list(DRIVERS))
        self.fields: dict[str, QWidget] = {
            "address": QLineEdit(placeholderText="HOST:PORT of the robot, 10.0.0.2:9870"),
            "key_file": QLineEdit(placeholderText="shared key file (default: WORKBENCH_ROBOT_KEY)"),
            "listen": QLineEdit(placeholderText="HOST:PORT to listen on (default: any, free)"),
            "robot_type": QLineEdit("so101_follower"),
            "port": QLineEdit(placeholderText="/dev/ttyACM0"),
            "robot_id": QLineEdit(placeholderText="names the calibration file"),
            "namespace": QLineEdit(placeholderText="/arm (empty: no namespace)"),
            "episodes": QSpinBox(minimum=1, maximum=1000, value=3),
            "steps": QSpinBox(minimum=1, maximum=1_000_000, value=1000),
            "realtime": QComboBox(),
            "takeover": QComboBox(),
            "keep": QCheckBox("keep the episodes in the workspace", checked=True),
            "video": QLineEdit(placeholderText="film the episodes into this new .mp4 "
                                               "(empty: no film)"),
        }
        # watching a policy fail is feedback: its failures teach the next reward fit
        self.fields["keep"].setToolTip("the failed episodes become negatives for the next "
                                       "reward fit: what the reward should not pay for")
        self.fields["realtime"].addItems(["at the control rate", "as fast as possible"])
        # on every driver: moving the pad replaces the policy's command (end-effector bundles)
        self.fields["takeover"].addItems(list(TAKEOVERS))
        self.form.addRow("Robot", self.driver)
        labels = {"address": "Robot at", "realtime": "Pace", "robot_type": "LeRobot type",
                  "port": "Serial port", "robot_id": "Robot id", "key_file": "Key file",
                  "takeover": "Take over", "keep": "Record", "video": "Film"}
        for name, widget in self.fields.items():
            self.form.addRow(labels.get(name, name.capitalize()), widget)
        self.driver.currentTextChanged.connect(self._show_fields)
        self._show_fields(self.driver.currentText())

    def _show_fields(self, driver: str) -> None:
        for name, widget in self.fields.items():
            self.form.setRowVisible(widget, name in DRIVERS[driver] or name == "takeover")

    def keep(self) -> bool:
        """Record a simulated run's episodes into the workspace (the row shows for the
        drivers that can: DRIVERS)."""
        box = self.fields["keep"]
        assert isinstance(box, QCheckBox)
        return box.isChecked() and self.form.isRowVisible(box)

    def text(self, name: str) -> str:
        widget = self.fields[name]
        return widget.text().strip() if isinstance(widget, QLineEdit) else ""

    def request(self, bundle: str) -> RunBundle:
        kind = list(DRIVERS).index(self.driver.currentText())
        takeover = self.fields["takeover"]
        episodes, steps = self.fields["episodes"], self.fields["steps"]
        assert isinstance(episodes, QSpinBox) and isinstance(steps, QSpinBox)
        assert isinstance(takeover, QComboBox)
        options: dict[str, Any] = {"bundle": Path(bundle),
                                   "takeover": TAKEOVERS[takeover.currentText()]}
        if kind == 0:
            realtime = self.fields["realtime"]
            assert isinstance(realtime, QComboBox)
            options.update(episodes=episodes.value(), realtime=realtime.currentIndex() == 0,
                           video=Path(self.text("video")) if self.text("video") else None)
        elif kind == 1:
            options.update(robot=self.text("address"), steps=steps.value(),
                           listen=self.text("listen"),
                           key_file=Path(self.text("key_file")) if self.text("key_file") else None)
            if not options["robot"]:
                raise ValueError("robot: give the robot's HOST:PORT")
        elif kind == 2:
            options.update(robot=f"lerobot:{self.text('robot_type')}", port=self.text("port"),
                           robot_id=self.text("robot_id"), episodes=episodes.value())
        else:
            namespace = self.text("namespace")
            options.update(robot=f"ros2:{namespace}" if namespace else "ros2",
                           episodes=episodes.value())
        return RunBundle(**options)


class LiveView(QTableWidget):
    """What the runner computes each tick: one row per action dimension with the policy's
    action and the command the safety filter let through (highlighted where they differ), and
    the observation underneath."""

    def __init__(self) -> None:
        super().__init__(0, 2)
        self.setHorizontalHeaderLabels(["policy action", "sent (filtered)"])
        self.observation = QLabel("")
        self.observation.setWordWrap(True)
        self.labels: list[str] = []

    def show_tick(self, data: dict[str, Any]) -> None:
        action, command = data.get("action", []), data.get("command", [])
        if self.rowCount() != len(action):
            self.setRowCount(len(action))
            self.setVerticalHeaderLabels([self.labels[i] if i < len(self.labels) else str(i)
                                          for i in range(len(action))])
        for row, (wanted, sent) in enumerate(zip(action, command, strict=False)):
            for column, value in enumerate((wanted, sent)):
                item = QTableWidgetItem(f"{value:+.3f}")
                if column == 1 and abs(wanted - sent) > 1e-6:
                    item.setBackground(CHANGED)
                self.setItem(row, column, item)
        observation = data.get("observation")
        self.observation.setText(
            f"tick {data.get('tick', 0)} · observation: waiting for the robot" if observation
            is None else f"tick {data.get('tick', 0)} · observation: "
            + " ".join(f"{v:+.2f}" for v in observation[:24])
            + (" …" if len(observation) > 24 else ""))
