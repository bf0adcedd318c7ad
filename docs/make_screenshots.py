"""Drive the real app in a real window and save screenshots of it (run under Xvfb or a desktop).

    xvfb-run -s "-screen 0 1400x860x24" .venv/bin/python docs/make_screenshots.py docs/images

Records scripted demos, fits a reward, starts training, and grabs the whole X screen (what a
person sees) at each stage: the Record panel, the Reward panel, and the Train panel mid-training.
Each screenshot is checked to be rendered content, not a blank or uniform image.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PyQt6.QtWidgets import QApplication

import workbench  # noqa: F401
from gui.main_window import MainWindow
from gui.settings import Settings
from workbench.session import Session


def wait(app: QApplication, seconds: float, until=None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (until and until()):
        app.processEvents()
        time.sleep(0.02)


def grab(app: QApplication, path: Path) -> Path:
    image = app.primaryScreen().grabWindow(0).toImage()
    image.save(str(path))
    pixels = np.asarray(image.constBits().asarray(image.sizeInBytes()), np.uint8)
    if pixels.std() < 5:
        raise SystemExit(f"{path} looks blank (std {pixels.std():.1f})")
    print(path)
    return path


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # The app's settings in a folder of its own: the person's (last scene, robot, tab) stay.
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp()
    app = QApplication(sys.argv)
    session = Session(Path(tempfile.mkdtemp()) / "ws", scene="Push")
    window = MainWindow(session, Settings())
    window.move(0, 0)
    window.resize(1400, 830)
    window.show()
    wait(app, 2)
    window.tabs.setCurrentWidget(window.panels["Record"])  # the app reopens on the last tab
    session.recording.record_scripted(10)
    record = window.panels["Record"]
    record.refresh()
    shown = record.episodes.item(0)  # a demo on the timeline, part way through
    record.episodes.setCurrentItem(shown)
    record._open(shown)
    record.timeline.slider.setValue(35)
    wait(app, 1)
    grab(app, out / "record.png")

    window.tabs.setCurrentWidget(window.panels["Reward"])
    session.jobs.fit_reward()
    wait(app, 120, until=lambda: not session.jobs["reward"].running)
    wait(app, 1)
    grab(app, out / "reward.png")

    window.tabs.setCurrentWidget(window.panels["Train"])
    window.panels["Train"].steps.setValue(60_000)
    window.panels["Train"]._start()
    # Mid-training, as the README says: before the guard may stop a run that hacks its reward.
    wait(app, 240, until=lambda: len(window.panels["Train"].history) >= 12)
    if not session.jobs["train"].running:
        raise SystemExit("the run ended before the screenshot; run the script again")
    grab(app, out / "training.png")
    session.jobs.stop("train")
    wait(app, 30, until=lambda: not session.jobs["train"].running)
    window.close()
    session.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
