"""Viewport frame time at 640x480 in the real main window: p50 and p99, with and without a
training job running in its worker process (both phases in this one script).

One frame = one control tick of the scene (physics, policy preview) + the offscreen MuJoCo render
+ the QImage hand-over + Qt's paint, i.e. what the GUI's timer does each tick.

Run: python benchmarks/viewport.py [--frames 300]   (offscreen Qt; set QT_QPA_PLATFORM=xcb and
DISPLAY to measure in a real window under Xvfb)
     python benchmarks/viewport.py --robot so101 [--wheels-meshes]   (the SO-101 drawn with its
     light meshes, or with the wheel's own: robots.light_meshes)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

import workbench  # noqa: E402, F401
from gui.main_window import MainWindow  # noqa: E402
from gui.settings import Settings  # noqa: E402
from robots import light_meshes  # noqa: E402
from workbench.rewards.progress import ProgressConfig  # noqa: E402
from workbench.rl.ppo import PPOConfig  # noqa: E402
from workbench.rl.run_config import RunConfig  # noqa: E402
from workbench.session import Session  # noqa: E402


def measure(app, window, frames: int) -> dict[str, float]:
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        window.session.tick()
        window.viewport.repaint()  # synchronous: render + paint now
        app.processEvents()
        times.append(time.perf_counter() - start)
    ms = np.array(times) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--shadows", action="store_true", help="shadows and reflections on")
    parser.add_argument("--point-cloud", action="store_true", help="the point-cloud view")
    parser.add_argument("--robot", default="", help="another arm for Push (so101, panda)")
    parser.add_argument("--wheels-meshes", action="store_true",
                        help="draw the robot with its wheel's own meshes, not the light copies")
    args = parser.parse_args()
    if args.wheels_meshes:
        light_meshes.draw_light = lambda spec, robot: None
    app = QApplication([])
    session = Session(Path(tempfile.mkdtemp()) / "ws", scene="Push")
    window = MainWindow(session, Settings(), robot=args.robot)
    window.tick_timer.stop()  # this script drives the ticks itself
    window.viewport.set_quality(args.shadows)
    window.viewport.set_point_cloud(args.point_cloud)
    window.resize(1280, 760)
    window.show()
    app.processEvents()
    session.recording.record_scripted(6)
    session.jobs.fit_reward("progress", ProgressConfig(epochs=50)).wait(timeout=300)
    idle = measure(app, window, args.frames)
    session.jobs.train(RunConfig(scene="Push", robot=args.robot,
                                 ppo=PPOConfig(total_steps=2_000_000)))
    deadline = time.monotonic() + 120
    while session.live.preview_policy is None and time.monotonic() < deadline:
        session.jobs.poll()  # wait until training streams its first policy snapshot
        app.processEvents()
        time.sleep(0.05)
    training = measure(app, window, args.frames)
    session.jobs.stop("train")
    session.jobs["train"].kill()
    print(json.dumps({"size": "640x480", "robot": args.robot or "arm6",
                      "wheels_meshes": args.wheels_meshes, "shadows": args.shadows,
                      "point_cloud": args.point_cloud,
                      "idle": idle, "while_training": training,
                      "rendered_size": list(window.viewport.last_frame.shape)}))
    window.close()
    session.close()


if __name__ == "__main__":
    main()
