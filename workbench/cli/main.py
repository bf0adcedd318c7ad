"""``workbench``: one subcommand per operation, its options generated from the operation's
request (:mod:`workbench.operations`), plus the terminal's own commands (:mod:`.frontend`).

With no subcommand it opens the GUI; ``workbench --headless`` runs the whole loop on Push
without a screen (record scripted demos, fit a reward, train, export, run the export).
Only the chosen operation's request is imported: listing the commands imports no torch.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import sys
import tempfile
import traceback
import typing
from pathlib import Path

from workbench.cli import frontend
from workbench.cli.generate import Parser, add_arguments, request_from
from workbench.cli.progress import TerminalProgress
from workbench.export.runner import Terminated
from workbench.operations import OPERATIONS, USER_ERRORS, Operation, execute


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; the operation ``argv`` names gets its generated arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    words = [a for a in argv if not a.startswith("-")]
    parser = Parser(
        prog="workbench", description="Teach simulated robots with rewards you show, judge and say."
    )
    parser.add_argument("--headless", action="store_true",
                        help="no GUI: run the whole loop on Push in the terminal")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    frontend.add_commands(sub)
    groups: dict[str, argparse._SubParsersAction] = {}  # "dataset" -> its export/import
    for operation in OPERATIONS:
        head, _, tail = operation.name.partition(" ")
        if tail and head not in groups:
            group = sub.add_parser(head, help=f"{head}: " + ", ".join(
                o.name.partition(" ")[2] for o in OPERATIONS if o.name.startswith(head + " ")))
            groups[head] = group.add_subparsers(dest="action", metavar="ACTION", required=True)
        target = groups[head] if tail else sub
        chosen = words[:2] == [head, tail] if tail else words[:1] == [head]
        p = target.add_parser(tail or head, help=operation.summary,
                              description=_description(operation) if chosen else None)
        if chosen:
            add_arguments(p, operation.request_class, argv[argv.index(tail or head) + 1:])
            p.set_defaults(operation=operation)
    return parser


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace
            ) -> argparse.ArgumentParser:
    """The (sub)command's parser the arguments chose."""
    for name in (args.command, getattr(args, "action", None)):  # argparse keeps subparsers
        # only in its (private) actions list; walk down to the one the arguments chose
        commands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if name and commands:
            parser = commands[0].choices[name]
    return parser


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [o for action in parser._actions for o in action.option_strings if len(o) > 2]


def _as_typed(message: str, options: list[str]) -> str:
    """A message that opens with a setting's name, as the core and the app call it
    ("source_file: give the file ..."), names the option typed here instead
    ("--source-file: give the file ...")."""
    found = re.match(r"([a-z][a-z0-9_.]*)(:| must| is )", message)
    option = "--" + found.group(1).replace("_", "-") if found else ""
    return option + message[len(found.group(1)):] if found and option in options else message


def _refuse_unknown(parser: argparse.ArgumentParser, args: argparse.Namespace,
                    unknown: list[str]) -> typing.NoReturn:
    """Unknown arguments, reported by the (sub)command they were given to, with the nearest
    option it has: `workbench train-reward: ... --epochz 3; did you mean --epochs?`."""
    parser = _chosen(parser, args)
    options = _options(parser)
    flag = next((u.partition("=")[0] for u in unknown if u.startswith("--")), "")
    nearest = difflib.get_close_matches(flag, options, n=1, cutoff=0.6)
    parser.error(f"unrecognized arguments: {' '.join(unknown)}"
                 + (f"; did you mean {nearest[0]}?" if nearest else ""))


def _description(operation: Operation) -> str:
    doc = operation.request_class.__doc__ or operation.summary
    return " ".join(doc.split())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _refuse_unknown(parser, args, unknown)
    command = args.command or ("loop" if args.headless else "gui")
    if args.command is None:
        args = build_parser([command]).parse_args([command])
    operation: Operation | None = getattr(args, "operation", None)
    name = operation.name if operation else command
    try:
        if operation is None:
            return frontend.COMMANDS[command](args)
        request = request_from(operation.request_class, _without_commands(args))
        # Standard output carries the result's JSON alone: what a library prints meanwhile
        # (Ray's notice that a task is retried) goes to standard error with the progress.
        with TerminalProgress(name) as progress, contextlib.redirect_stdout(sys.stderr):
            result = execute(request, progress)
        frontend.print_json(result)
        return 1 if result.get("ok") is False else 0
    except BrokenPipeError:  # `workbench scenes | head`: the reader has what it wanted
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"workbench {name}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"workbench {name}: terminated; the robot was sent a stop", file=sys.stderr)
        return 143
    except USER_ERRORS as exc:
        message = _as_typed(_one_line(exc), _options(_chosen(parser, args)))
        print(f"workbench {name}: error: {message}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of ours: one line for the user, the traceback in a file
        log = _save_traceback(name)
        print(f"workbench {name}: internal error: {_one_line(exc)} (details in {log})",
              file=sys.stderr)
        return 3


def _without_commands(args: argparse.Namespace) -> argparse.Namespace:
    values = {k: v for k, v in vars(args).items()
              if k not in ("command", "action", "operation", "headless")}
    return argparse.Namespace(**values)


def _one_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _save_traceback(command: str) -> Path:
    folder = Path(tempfile.gettempdir()) / "workbench-errors"
    folder.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{command.replace(' ', '-')}-", suffix=".txt",
                                dir=folder)
    with os.fdopen(fd, "w") as out:
        out.write(traceback.format_exc())
    return Path(name)


if __name__ == "__main__":
    raise SystemExit(main())
