"""``workbench``: one subcommand per stage of the loop; each wraps an importable function.

With no subcommand it opens the GUI; ``workbench --headless`` runs the whole loop on Push
without a screen (record scripted demos, fit a reward, train, export, run the export).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import traceback
from pathlib import Path

from workbench.rewards import families

DEFAULT_WORKSPACE = Path(os.environ.get("WORKBENCH_WORKSPACE", "~/.workbench/workspace"))


# -- argument types: a bad value is one line naming the option and what it allows ---------------
def count(low: int = 1, high: int = 10**12):
    """A whole number in [low, high] (argparse names the option in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {value}")
        return value

    parse.__name__ = "count"
    return parse


def fraction(text: str) -> float:
    """A finite number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}")
    return value


def host_port(text: str) -> tuple[str, int]:
    """HOST:PORT with a port in 1..65535."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(
            f"must be HOST:PORT with a port from 1 to 65535, got {text!r}")
    return host.strip("[]"), int(port)


def image_size(text: str) -> tuple[int, int]:
    """WIDTHxHEIGHT, each from 16 to 8192 pixels."""
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()
            and 16 <= int(width) <= 8192 and 16 <= int(height) <= 8192):
        raise argparse.ArgumentTypeError(
            f"must be WIDTHxHEIGHT with each from 16 to 8192, e.g. 640x480; got {text!r}")
    return int(width), int(height)


def goal_sentence(text: str) -> str:
    """A goal sentence in words (checked as the Goal panel checks it)."""
    from workbench.sentences import check_sentence

    try:
        return check_sentence(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace", "-w", type=Path, default=DEFAULT_WORKSPACE,
        help=f"workspace folder, created if missing (default {DEFAULT_WORKSPACE})",
    )


def _overrides_arg(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help=f"config override, repeatable (e.g. --set {example})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench", description="Teach simulated robots with rewards you show, judge and say."
    )
    parser.add_argument("--headless", action="store_true",
                        help="no GUI: run the whole loop on Push in the terminal")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("scenes", help="list registered scenes")
    p.add_argument("--json", action="store_true", help="machine-readable list")
    p.add_argument("--gallery", type=Path, metavar="DIR", help="render a PNG of every scene")

    p = sub.add_parser("view", help="show a scene (a window, or a PNG with --out)")
    p.add_argument("scene")
    p.add_argument("--camera", default=None, help="named camera (default: the scene's first)")
    p.add_argument("--out", type=Path, help="write a PNG instead of opening a window")
    p.add_argument("--size", type=image_size, default=(640, 480), help="WIDTHxHEIGHT of the PNG")
    p.add_argument("--seed", type=count(0), default=0)

    p = sub.add_parser("record", help="record episodes (keyboard teleop, scripted or random)")
    p.add_argument("scene")
    _workspace_arg(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--scripted", type=count(1, 100_000), metavar="N",
                     help="N scripted demonstrations")
    how.add_argument("--perturbed", type=count(1, 100_000), metavar="N",
                     help="N perturbed (failing) demonstrations, negatives for reward learning")
    how.add_argument("--random", type=count(1, 100_000), metavar="N",
                     help="N random-action episodes")
    p.add_argument("--goal", help="goal text of the takes (default: the scene's own)")
    p.add_argument("--seed", type=count(0), default=0)
    p.add_argument("--difficulty", type=fraction, default=0.0, help="from 0 to 1")

    p = sub.add_parser("train-reward", help="fit a reward: progress from demos, or preference "
                       "from ranked clips")
    p.add_argument("scene")
    _workspace_arg(p)
    p.add_argument("--family", choices=families.fittable(), default="progress",
                   help="; ".join(f"{f.name}: {f.title.partition(' — ')[2]}"
                                  for f in families.all_families() if f.fit))
    _overrides_arg(p, "epochs=300")

    p = sub.add_parser("teach", help="a synthetic teacher (B-Pref) answers ranking queries")
    p.add_argument("scene")
    _workspace_arg(p)
    p.add_argument("--teacher", default="oracle",
                   help="oracle, stoc, myopic, mistake, skip or equal (B-Pref defaults)")
    p.add_argument("--labels", type=count(1, 1_000_000), default=50,
                   help="how many queries to answer")
    p.add_argument("--length", type=count(1, 100_000), default=20,
                   help="segment length in steps")
    p.add_argument("--active", action="store_true",
                   help="ask about the pairs the latest preference ensemble disputes most")
    p.add_argument("--seed", type=count(0), default=0)

    p = sub.add_parser("train", help="train a policy with PPO on a learned reward")
    p.add_argument("scene")
    _workspace_arg(p)
    p.add_argument("--steps", type=count(1), help="environment steps (ppo.total_steps)")
    p.add_argument("--reward", default="latest",
                   help="'latest' learned model of the scene, a model folder, 'reference', "
                        "'sparse' or 'grounded' (the default with --goal)")
    p.add_argument("--resume", type=Path, metavar="RUN",
                   help="continue this stopped or killed run exactly from its checkpoint, with "
                        "the config it was started with (other options are ignored)")
    p.add_argument("--goal", type=goal_sentence, default=None,
                   help="train toward what this sentence names, e.g. \"push the cube onto the "
                        "blue pad\" (PushChoice: one policy for every pad; see RunConfig.goal)")
    _overrides_arg(p, "ppo.lr=1e-3")

    p = sub.add_parser("export", help="export the latest trained policy as an ONNX bundle")
    _workspace_arg(p)
    p.add_argument("--scene", help="scene of the run (default: any)")
    p.add_argument("--run", type=Path, help="run folder (default: the latest finished run)")
    p.add_argument("--out", type=Path, help="bundle folder (default: RUN/bundle)")

    p = sub.add_parser("run", help="run an exported bundle (no torch): in simulation, or on a "
                       "robot over UDP/JSON, always through the safety filter")
    p.add_argument("bundle", type=Path)
    p.add_argument("--episodes", type=count(1, 1_000_000), default=10,
                   help="simulation episodes")
    p.add_argument("--robot", metavar="HOST:PORT", type=host_port,
                   help="drive hardware over the authenticated UDP link instead of the "
                        "simulation (protocol: workbench/export/link.py)")
    p.add_argument("--key-file", type=Path, metavar="FILE",
                   help="the link's shared key, at least 16 bytes (default: the "
                        "WORKBENCH_ROBOT_KEY environment variable)")
    p.add_argument("--listen", type=host_port, metavar="HOST:PORT",
                   help="where observations arrive (default: any interface, a free port)")
    p.add_argument("--steps", type=count(1), default=1000, help="control steps on the robot")
    p.add_argument("--log", type=Path, help="append safety interventions to this JSONL file")

    p = sub.add_parser("dataset", help="export or import episodes, goals and preferences as a "
                       "LeRobot v3.0 dataset or a robomimic HDF5 file")
    p.add_argument("action", choices=("export", "import"))
    p.add_argument("path", type=Path, help="dataset folder (LeRobot) or .hdf5 file (robomimic)")
    p.add_argument("--format", choices=("lerobot", "robomimic"),
                   help="default: robomimic for .hdf5/.h5 paths, LeRobot otherwise")
    p.add_argument("--scene", help="export: only this scene's episodes; import: the scene of "
                   "every episode (needed for datasets without the workbench sidecar)")
    _workspace_arg(p)

    p = sub.add_parser("workspace", help="inspect, check or recover a workspace")
    p.add_argument("action", choices=("info", "check", "recover"),
                   help="check: list problems (exit 1 if any); recover: index what a crash or "
                        "a lost database left behind")
    _workspace_arg(p)

    p = sub.add_parser("episode", help="delete recorded episodes (and the labels on them)")
    p.add_argument("action", choices=("delete",))
    p.add_argument("ids", type=count(1, 10**12), nargs="+", metavar="ID")
    _workspace_arg(p)

    p = sub.add_parser("loop", help="the whole loop headless: demos, reward, PPO, export, run")
    p.add_argument("scene", nargs="?", default="Push")
    _workspace_arg(p)
    p.add_argument("--demos", type=count(1, 100_000), default=10)
    p.add_argument("--steps", type=count(1), default=80_000)

    p = sub.add_parser("gui", help="open the desktop app")
    _workspace_arg(p)
    p.add_argument("--scene", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or ("loop" if args.headless else "gui")
    if command in ("loop", "gui") and args.command is None:
        args = build_parser().parse_args([command])
    from workbench.cli import commands

    try:
        return int(getattr(commands, command.replace("-", "_"))(args) or 0)
    except BrokenPipeError:  # `workbench scenes | head`: the reader has what it wanted
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"workbench {command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        print(f"workbench {command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of ours: one line for the user, the traceback in a file
        log = _save_traceback(command)
        print(f"workbench {command}: internal error: {_one_line(exc)} (details in {log})",
              file=sys.stderr)
        return 3


def _one_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first


def _save_traceback(command: str) -> Path:
    folder = Path(tempfile.gettempdir()) / "workbench-errors"
    folder.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{command}-", suffix=".txt", dir=folder)
    with os.fdopen(fd, "w") as out:
        out.write(traceback.format_exc())
    return Path(name)


def print_json(data: object) -> None:
    print(json.dumps(data, indent=1, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
