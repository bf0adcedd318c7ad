"""The scripted walkthrough in a real X11 window under Xvfb, as a person would see it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_walkthrough_in_a_real_window_shows_rendered_content_on_every_panel(tmp_path):
    assert shutil.which("xvfb-run"), "xvfb-run is missing: ./setup.sh installs Debian's xvfb"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    out = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1400x860x24", sys.executable, "-m",
         "gui.walkthrough", str(tmp_path / "shots"), "--train-steps", "6144"],
        capture_output=True, text=True, timeout=1800, cwd=ROOT, env=env,
    )
    checks = json.loads((tmp_path / "shots" / "checks.json").read_text())
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    for name in ("record", "rank", "goal", "reward", "code", "train", "point_cloud",
                 "export"):
        assert checks[name]["ok"], (name, checks[name])
        assert Path(checks[name]["screenshot"]).stat().st_size > 10_000
    assert checks["counts"] == {"teleop_demos": 2, "labels": 10, "ok": True}
