"""Keyboard recording in a terminal: raw key reads at the control rate, no GUI needed.

Terminals report key presses (with auto-repeat) but not releases, so a pressed key counts as
held for a short window. Keys as in :mod:`workbench.teleop.keyboard`; Enter saves, x discards,
q quits.
"""

from __future__ import annotations

import select
import sys
import time

from workbench.data.workspace import Workspace
from workbench.envs.env import WorkbenchEnv
from workbench.teleop.keyboard import KeyboardTeleop, controls_help
from workbench.teleop.recorder import Recorder

HOLD_TICKS = 4


def record_keyboard(env: WorkbenchEnv, ws: Workspace, goal: str | None, seed: int) -> int:
    if not sys.stdin.isatty():
        raise RuntimeError(
            "keyboard recording needs an interactive terminal; use the GUI's Record panel, "
            "or --scripted N / --random N"
        )
    import termios
    import tty

    teleop = KeyboardTeleop(env.controller.labels)
    recorder = Recorder(env, ws, "teleop", goal=goal)
    recorder.start(seed=seed)
    print(f"recording {env.scene_name}: {controls_help(env.controller.labels)}; Enter saves, "
          "x discards, q quits", flush=True)
    held: dict[str, int] = {}
    fd = sys.stdin.fileno()
    saved_attrs = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        next_tick = time.perf_counter()
        while True:
            next_tick += env.control_dt
            while select.select([sys.stdin], [], [], 0)[0]:
                ch = sys.stdin.read(1)
                if ch in ("\n", "\r"):
                    episode = recorder.save()
                    print(f"\nsaved episode {episode}")
                    return 0
                if ch in ("x", "q"):
                    recorder.discard()
                    print("\ndiscarded")
                    return 0
                key = "space" if ch == " " else ch.lower()
                if key in ("space", "[", "]"):
                    teleop.press(key)
                else:
                    held[key] = HOLD_TICKS
                    teleop.press(key)
            for key in list(held):
                held[key] -= 1
                if held[key] <= 0:
                    teleop.release(key)
                    del held[key]
            _, _, terminated, truncated, info = recorder.step(teleop.action())
            print(f"\rstep {env.elapsed_steps:4d} progress {info['progress']:.2f} "
                  f"success {info['success']!s:5}", end="", flush=True)
            if terminated or truncated:
                episode = recorder.save()
                print(f"\nepisode over; saved episode {episode}")
                return 0
            time.sleep(max(0.0, next_tick - time.perf_counter()))
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved_attrs)
        recorder.close()
