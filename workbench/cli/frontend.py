"""The commands that belong to the terminal, not to an operation: listing and viewing scenes,
driving a scene from the keyboard, opening the app, and the whole loop as a newcomer runs it.

What needs OpenCV, a POSIX terminal or Qt is imported inside the command that uses it.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from workbench import config as cfg
from workbench.cli.generate import command_line
from workbench.cli.progress import TerminalProgress
from workbench.data.workspace import Workspace
from workbench.envs import dm_control_adapter
from workbench.envs.env import make_env, scene_info
from workbench.operations import Request, execute, name_of
from workbench.operations.base import DEFAULT_WORKSPACE
from workbench.registry import FRONTENDS, ROBOTS, SCENES, scene_robot


def count(low: int = 0, high: int = 10**12) -> Callable[[str], int]:
    """A whole number in [low, high] (argparse names the option in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {text!r}")
        return value

    parse.__name__ = "count"
    return parse


def image_size(text: str) -> tuple[int, int]:
    """WIDTHxHEIGHT, each from 16 to 8192 pixels."""
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()
            and 16 <= int(width) <= 8192 and 16 <= int(height) <= 8192):
        raise argparse.ArgumentTypeError(
            f"must be WIDTHxHEIGHT with each from 16 to 8192, e.g. 640x480; got {text!r}")
    return int(width), int(height)


def scene_name(text: str) -> str:
    """A registered scene (checked before a window or a renderer is started)."""
    if text not in SCENES.names():
        raise argparse.ArgumentTypeError(
            f"must be one of {', '.join(SCENES.names())} (`workbench scenes`), got {text!r}")
    return text


def robot_name(text: str) -> str:
    """A registered robot, or "" for the scene's own (whether it can run the scene is the
    scene's to say)."""
    if text and text not in ROBOTS.names():
        raise argparse.ArgumentTypeError(
            f"must be one of {', '.join(ROBOTS.names())}, got {text!r}")
    return text


def _robot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--robot", type=robot_name, default="",
                        help="another robot of the scene's kind (so101, panda); default: the "
                        "scene's own")


def _workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", "-w", type=Path, default=DEFAULT_WORKSPACE,
                        help=f"workspace folder (default {DEFAULT_WORKSPACE})")


def add_commands(sub: Any) -> None:
    p = sub.add_parser("scenes", help="list registered scenes")
    p.add_argument("--json", action="store_true", help="machine-readable list")
    p.add_argument("--gallery", type=Path, metavar="DIR", help="render a PNG of every scene")

    p = sub.add_parser("view", help="show a scene (a window, or a PNG with --out)")
    p.add_argument("scene", type=scene_name)
    p.add_argument("--camera", default=None, help="named camera (default: the scene's first)")
    p.add_argument("--out", type=Path, help="write a PNG instead of opening a window")
    p.add_argument("--size", type=image_size, default=(640, 480), help="WIDTHxHEIGHT of the PNG")
    p.add_argument("--seed", type=count(0), default=0)
    p.add_argument("--scripted", action="store_true",
                   help="with --out: the state the scene's scripted demonstrator leaves at the "
                        "end of its take from --seed")
    _robot(p)

    p = sub.add_parser("teleop", help="drive a scene from the terminal's keyboard and save takes")
    p.add_argument("scene", type=scene_name)
    _workspace(p)
    p.add_argument("--goal", help="goal text of the takes (default: the scene's own)")
    p.add_argument("--seed", type=count(0), default=0)
    p.add_argument("--difficulty", type=float, default=0.0, help="from 0 to 1")
    _robot(p)

    p = sub.add_parser("loop", help="the whole loop headless: demos, reward, PPO, export, run")
    p.add_argument("scene", nargs="?", default="Push",
                   help="a scene with a scripted demonstrator (default: Push; Reach trains "
                   "in about 30 s)")
    _workspace(p)
    p.add_argument("--demos", type=count(1, 100_000), default=10,
                   help="scripted demos, and as many random and perturbed takes (default: 10)")
    p.add_argument("--steps", type=count(1), default=80_000,
                   help="PPO environment steps (default: 80000)")
    p.add_argument("--video", type=Path, default=None,
                   help="film the trained policy's episodes into this new MP4")
    _robot(p)

    p = sub.add_parser("gui", help="open the desktop app")
    _workspace(p)
    p.add_argument("--scene", type=scene_name, default=None,
                   help="the scene to open (default: the last one)")
    _robot(p)


def scenes(args: argparse.Namespace) -> int:
    if args.gallery:
        from workbench.envs.gallery import render_gallery  # OpenCV writes the PNGs

        for path in render_gallery(args.gallery):
            print(path)
        return 0
    own = [{**scene_info(name), "commands": True} for name in SCENES.names()]
    # The suite's tasks as they come are gymnasium envs only: no vocabulary, named features or
    # seeded starts for the workbench's commands to use; its classic control tasks are scenes
    # of the workbench too (scenes.control), which the commands take.
    suite = [{**info, "commands": False} for info in dm_control_adapter.scene_infos()]
    if args.json:
        print_json(own + suite)
        return 0
    widths = [max(len(i[key]) for i in own + suite) for key in ("name", "id")]

    def show(infos: list[dict[str, Any]]) -> None:
        tags = [", ".join(i["tags"]) for i in infos]
        width = max(map(len, tags), default=0)
        for info, tag in zip(infos, tags, strict=True):
            also = f"  (also {', '.join(info['stand_ins'])})" if info["stand_ins"] else ""
            print(f"{info['name']:<{widths[0]}}  {info['id']:<{widths[1]}}  {tag:<{width}}  "
                  f"{info['description']}{also}")

    show(own)
    if suite:
        print(f"\ndm_control suite tasks, gymnasium envs only (gym.make(ID) after `import "
              f"workbench`); the commands take the {len(own)} scenes above:")
        show(suite)
    return 0


def view(args: argparse.Namespace) -> int:
    scene_robot(args.scene, args.robot)  # a robot that cannot run the scene: refused first
    if args.out is None:
        return _open_gui(scene=args.scene, robot=args.robot)
    from workbench.envs.gallery import render_scene_png  # OpenCV writes the PNG

    if args.out.is_dir() or any(p.is_file() for p in args.out.parents):
        raise ValueError(f"--out {args.out}: not a PNG path in a folder (a file stands in its "
                         "way, or it is a folder)")
    if args.scripted and not scene_info(args.scene)["demonstrator"]:
        raise ValueError(f"--scripted: {args.scene} has no scripted demonstrator")
    start = _end_of_scripted_take if args.scripted else None
    try:
        render_scene_png(args.scene, args.out, args.size, args.camera, args.seed,
                         robot=args.robot or None, start=start)
    except KeyError as missing:  # the renderer's "no camera 'x'; cameras: [...]"
        raise ValueError(f"--camera: {missing.args[0]}") from None
    print(args.out)
    return 0


def _end_of_scripted_take(env: Any, seed: int) -> None:
    """``view --scripted``: the scene's scripted take from ``seed`` run to its end."""
    from workbench.teleop.recorder import scripted_successes

    scripted_successes(env, [seed])


def teleop(args: argparse.Namespace) -> int:
    from workbench.cli.terminal_teleop import record_keyboard  # a POSIX terminal

    env = make_env(args.scene, difficulty=args.difficulty, robot=args.robot or None)
    with Workspace.open(args.workspace, create=True) as ws:
        return record_keyboard(env, ws, args.goal, args.seed)


def loop(args: argparse.Namespace) -> int:
    """Every stage in turn, each shown as the command that does it alone."""
    from workbench.operations.bundle import ExportBundle
    from workbench.operations.recording import Record
    from workbench.operations.rewards import FitReward
    from workbench.operations.run import RunBundle
    from workbench.operations.training import Train
    from workbench.rl.run_config import RunConfig

    ws = {"workspace": args.workspace}
    scene, robot = args.scene, {"robot": args.robot}
    # Built (and so checked: a film is never written over, a robot can run the scene) before
    # anything runs.
    last = RunBundle(bundle=Path("bundle"), episodes=10, video=args.video)
    config = cfg.with_values(RunConfig.for_scene(scene),
                             {"ppo.total_steps": args.steps, **robot})
    for request in (
        Record(scene=scene, scripted=args.demos, **robot, **ws),
        Record(scene=scene, random=args.demos, seed=500, **robot, **ws),
        Record(scene=scene, perturbed=args.demos, seed=900, **robot, **ws),
        FitReward(scene=scene, **robot, **ws),
        Train(config=config, **ws),
    ):
        perform(request)
    bundle = perform(ExportBundle(scene=scene, **ws))["bundle"]
    perform(replace(last, bundle=Path(bundle)))
    return 0


def perform(request: Request) -> dict[str, Any]:
    """Run one operation with progress bars and print what it returns, under the command
    that does the same alone."""
    print(f"\n$ {command_line(name_of(request), request)}")
    with TerminalProgress(name_of(request)) as progress:
        result = execute(request, progress)
    print_json(result)
    return result


def gui(args: argparse.Namespace) -> int:
    if args.robot and args.scene:
        scene_robot(args.scene, args.robot)  # refused here; else the app's window says it
    return _open_gui(workspace=args.workspace, scene=args.scene, robot=args.robot)


def _open_gui(**kwargs: Any) -> int:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("QT_QPA_PLATFORM")):
        raise RuntimeError(
            "no screen to open the GUI on (DISPLAY is not set); use `workbench --headless`, a "
            "subcommand such as `workbench view Push --out push.png`, or run under Xvfb"
        )
    return int(FRONTENDS.load("gui")(**kwargs) or 0)


def print_json(data: object) -> None:
    print(json.dumps(data, indent=1, default=str))


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "scenes": scenes, "view": view, "teleop": teleop, "loop": loop, "gui": gui}
