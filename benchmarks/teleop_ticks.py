"""Dropped control ticks while recording a live teleop take at a fixed rate.

Records ``--seconds`` of keyboard teleop (a scripted key sequence through the real
``KeyboardTeleop``) at ``--hz`` into a fresh workspace, with ``--cameras`` rendered into every
frame, through ``workbench.teleop.clock.record_live``, the loop the CLI and GUI use.

Run: python benchmarks/teleop_ticks.py [--scene Push] [--hz 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile

import workbench  # noqa: F401
from workbench.data.workspace import Workspace
from workbench.envs import make_env
from workbench.teleop import KeyboardTeleop
from workbench.teleop.clock import record_live
from workbench.teleop.recorder import Recorder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="Push")
    parser.add_argument("--hz", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--cameras", nargs="*", default=["front"])
    args = parser.parse_args()
    env = make_env(args.scene, control_mode="ee_delta", control_dt=1.0 / args.hz)
    teleop = KeyboardTeleop(env.controller.labels)
    keys = itertools.cycle(["w"] * 20 + ["a"] * 20 + ["s"] * 20 + ["d"] * 20)
    held: list[str] = []

    def poll():
        if held:
            teleop.release(held.pop())
        key = next(keys)
        teleop.press(key)
        held.append(key)
        return teleop.action()

    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.open(folder, create=True)
        recorder = Recorder(env, workspace, "keyboard", image_cameras=tuple(args.cameras))
        stats = record_live(recorder, poll, seconds=args.seconds, seed=0)
        episode_id = recorder.save()
        frames = len(workspace.load_episode(episode_id))
    print(json.dumps({"scene": args.scene, "hz": args.hz, "seconds": args.seconds,
                      "cameras": args.cameras, "frames_saved": frames, **stats.summary()}))


if __name__ == "__main__":
    main()
