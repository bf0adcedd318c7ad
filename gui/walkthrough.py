"""A scripted walkthrough of the whole loop in the real app, with a screenshot of each panel.

    xvfb-run -a -s "-screen 0 1400x860x24" python -m gui.walkthrough OUT_DIR [--train-steps N]
        [--robot so101] [--difficulty 0.5]

It does what a person would: picks the robot and difficulty in the Record panel (where
given), drives two demonstrations with the keyboard in the viewport, adds
scripted demos and failures, replays one on the timeline, answers ten ranking queries with the
Rank panel's buttons, saves a goal and plots its reward on the recorded episodes, fits a reward,
checks the scene's template reward code, trains, looks at the point-cloud view, exports and runs
the bundle, grabbing the screen (what a person sees) after each stage. Each screenshot is
checked: the viewport is not blank or uniform, and the panel's plot (where it has one) holds
data. Exits non-zero if any check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication

import workbench  # noqa: F401
from gui.main_window import MainWindow
from gui.settings import Settings
from workbench.session import Session


class Walkthrough:
    def __init__(self, out: Path, train_steps: int, robot: str = "", difficulty: float = 0.0):
        self.out = out
        self.train_steps = train_steps
        self.robot, self.difficulty = robot, difficulty
        self.app = QApplication.instance() or QApplication(sys.argv)
        self.session = Session(Path(tempfile.mkdtemp()) / "ws", scene="Push")
        self.window = MainWindow(self.session, Settings())
        self.window.move(0, 0)
        self.window.resize(1400, 830)
        self.window.show()
        self.checks: dict[str, dict] = {}

    def wait(self, seconds: float, until=None) -> None:
        """Let the app run for ``seconds``, or until ``until()``: generous deadlines for jobs,
        which return as soon as the job ends (a loaded machine fits a reward slower)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not (until and until()):
            self.session.jobs.poll()
            self.app.processEvents()
            time.sleep(0.02)

    def shoot(self, name: str, plot=None, max_roughness: float = 8.0) -> None:
        self.wait(0.5)
        screen = self.app.primaryScreen().grabWindow(0).toImage()
        path = self.out / f"{name}.png"
        screen.save(str(path))
        frame = self.window.viewport.last_frame
        check = {
            "screenshot": str(path),
            "viewport_std": float(frame.std()),
            "viewport_colours": int(len(np.unique(frame.reshape(-1, 3), axis=0))),
            # Mean step between neighbouring pixels: a rendered scene is smooth (about 1),
            # uninitialised or noisy pixels are not (tens), though both vary and are colourful.
            "viewport_roughness": float(np.abs(np.diff(frame.astype(np.int16), axis=1)).mean()),
        }
        if plot is not None:
            check["plot_points"] = sum(
                0 if c.getData()[0] is None else len(c.getData()[0]) for c in plot)
        check["ok"] = (check["viewport_std"] > 5 and check["viewport_colours"] > 50
                       and check["viewport_roughness"] < max_roughness
                       and check.get("plot_points", 1) > 0)
        self.checks[name] = check

    def panel(self, name: str):
        index = list(self.window.panels).index(name)
        self.window.tabs.setCurrentIndex(index)
        return self.window.panels[name]

    def run(self) -> bool:
        viewport = self.window.viewport
        self.wait(1.5)
        record = self.panel("Record")
        if self.robot:
            record.robot.setCurrentIndex(record.robot.findData(self.robot))
            record.robot.activated.emit(record.robot.currentIndex())  # as a person's pick
        record.difficulty.setValue(self.difficulty)
        for key in (Qt.Key.Key_W, Qt.Key.Key_A):  # two keyboard demonstrations
            QTest.mouseClick(record.start, Qt.MouseButton.LeftButton)
            QTest.keyPress(viewport, key)
            self.wait(1.2)  # the window's own timer steps the teleop at 25 Hz
            QTest.keyRelease(viewport, key)
            QTest.keyPress(viewport, Qt.Key.Key_Return)
        record.scripted_count.setValue(8)
        QTest.mouseClick(record.scripted, Qt.MouseButton.LeftButton)
        self.wait(300, until=lambda: not self.session.jobs["record"].running)
        self.wait(0.5)
        shown = record.episodes.item(2)  # the first scripted demo, on the timeline
        record.episodes.setCurrentItem(shown)
        record._open(shown)
        record.timeline.slider.setValue(35)
        self.shoot("record", [record.timeline.curves["progress"]])
        QTest.mouseClick(record.timeline.live, Qt.MouseButton.LeftButton)

        rank = self.panel("Rank")
        rank.next_query()
        for i in range(10):
            QTest.mouseClick(rank.buttons[("left", "right", "equal")[i % 3]],
                             Qt.MouseButton.LeftButton)
        self.shoot("rank")

        goal = self.panel("Goal")
        goal.goal.setText(self.session.browser.episodes()[2]["goal"])
        QTest.mouseClick(goal.save, Qt.MouseButton.LeftButton)
        QTest.mouseClick(goal.score, Qt.MouseButton.LeftButton)
        self.wait(300, until=lambda: goal.result is not None)
        self.shoot("goal", goal.plot.listDataItems())

        reward = self.panel("Reward")
        QTest.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
        self.wait(600, until=lambda: not self.session.jobs["reward"].running)
        self.wait(1)
        self.shoot("reward", [reward.learned_curve, reward.truth_curve])

        code = self.panel("Code")  # the scene's template reward, checked as written
        QTest.mouseClick(code.check, Qt.MouseButton.LeftButton)
        self.wait(300, until=lambda: not self.session.jobs["code"].running)
        self.wait(1)
        self.shoot("code", [item for i in range(code.plots.count())
                            for item in code.plots.itemAt(i).widget().listDataItems()])

        train = self.panel("Train")
        train.steps.setValue(self.train_steps)
        QTest.mouseClick(train.start, Qt.MouseButton.LeftButton)
        self.wait(600, until=lambda: len(train.history) >= max(
            3, self.train_steps // 2048 - 2))
        self.shoot("train", [train.learned_curve, train.success_curve])
        self.wait(300, until=lambda: not self.session.jobs["train"].running)
        self.window.cloud_action.setChecked(True)
        self.shoot("point_cloud", max_roughness=30.0)  # separate points: rougher, not noise
        self.window.cloud_action.setChecked(False)

        export = self.panel("Export")
        QTest.mouseClick(export.export_button, Qt.MouseButton.LeftButton)
        self.wait(600, until=lambda: export.run_button.isEnabled())
        parity = "parity passed" in export.status.text()
        QTest.mouseClick(export.run_button, Qt.MouseButton.LeftButton)
        self.wait(60, until=lambda: export.live.rowCount() > 0)
        self.shoot("export")  # mid-run: the live action, command and observation
        self.checks["export"]["ok"] &= parity
        self.wait(600, until=lambda: "runner finished" in export.status.text())
        labels = self.session.feedback.label_count()
        teleop = [e for e in self.session.browser.episodes() if e["source"] == "teleop"]
        self.checks["counts"] = {"teleop_demos": len(teleop), "labels": labels,
                                 "ok": len(teleop) == 2 and labels == 10}
        self.window.close()
        self.session.close()
        return all(c["ok"] for c in self.checks.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train-steps", type=int, default=20_000)
    parser.add_argument("--robot", default="", help="a robot Push is laid out for (so101, panda)")
    parser.add_argument("--difficulty", type=float, default=0.0, help="of the takes, 0 to 1")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    walk = Walkthrough(args.out, args.train_steps, args.robot, args.difficulty)
    try:
        ok = walk.run()
    finally:  # what was checked so far is written even when a stage fails
        (args.out / "checks.json").write_text(json.dumps(walk.checks, indent=1))
    print(json.dumps(walk.checks, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
