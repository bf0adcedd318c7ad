"""Bad input gets a one-line error naming the option and what it allows: no traceback, no
silently accepted value, nothing written.

Two corpora: hand-picked CLI arguments that once slipped through (tracebacks, wrong values
accepted silently), and any text given to every generated option of the requests that carry
configs (a run's settings, every reward family's).
"""

from __future__ import annotations

import math
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import config as cfg
from workbench.cli import generate
from workbench.cli.generate import Parser
from workbench.cli.main import main
from workbench.operations.rewards import FitReward
from workbench.operations.training import Train
from workbench.rewards import families

# (arguments, what the one-line error must name)
BAD_ARGUMENTS = [
    (["train", "Push", "--steps", "0"], "--steps"),
    (["train", "Push", "--steps", "-5"], "--steps"),
    (["train", "Push", "--steps", "1e30"], "--steps"),
    (["train", "Push", "--ppo.gamma", "2.5"], "--ppo.gamma"),
    (["train", "Push", "--ppo.num-envs", "0"], "--ppo.num-envs"),
    (["train", "Push", "--ppo.hidden", "abc"], "--ppo.hidden"),
    (["train", "Push", "--ppo.lr", "nan"], "--ppo.lr"),
    (["train", "Push", "--ppo.lr", "1e999"], "--ppo.lr"),
    (["train", "Push", "--ppo.device", "tpu"], "--ppo.device"),
    (["train", "Push", "--difficulty", "-0.1"], "--difficulty"),
    (["train", "Push", "--transform", "log"], "--transform"),
    (["train", "Push", "--eval-episodes", "-1"], "--eval-episodes"),
    (["train", "Push", "--nonsense", "1"], "--nonsense"),
    (["train", "Push", "--reward", "model", "--reward-model", "gone"], "--reward-model"),
    (["train", "Push", "--online-teacher", "oracle"], "--online-feedback"),  # else ignored
    (["train", "Push", "--ppo.lr"], "--ppo.lr"),
    # No cluster there: refused in seconds (Ray alone retries a head's address for minutes).
    (["train", "Push", "--reward", "reference", "--cluster", "127.0.0.1:9"],
     "nothing answers at 127.0.0.1:9"),
    (["train", "Push", "--reward", "reference", "--cluster", "ray://127.0.0.1:9"],
     "nothing answers at ray://"),
    (["train-reward", "Push", "--epochs", "-1"], "--epochs"),
    (["train-reward", "Push", "--epochs", "0"], "--epochs"),
    (["train-reward", "Push", "--hidden", "0"], "--hidden"),
    (["train-reward", "Push", "--lr", "-1"], "--lr"),
    (["train-reward", "Push", "--family", "preference", "--members", "0"], "--members"),
    (["train-reward", "Push", "--family", "perceptual", "--image-size", "2"], "--image-size"),
    (["train-reward", "Push", "--family", "nope"], "--family"),
    (["run", "bundle", "--episodes", "0"], "--episodes"),
    (["run", "bundle", "--robot", "host:99999"], "--robot"),
    (["run", "bundle", "--robot", "no-port"], "--robot"),
    (["run", "bundle", "--steps", "0"], "--steps"),
    (["run", "bundle", "--robot", "127.0.0.1:9"], "shared key"),
    (["run", "bundle", "--robot", "127.0.0.1:9", "--listen", "0.0.0.0:0"], "--listen"),
    (["view", "Push", "--size", "0x0", "--out", "x.png"], "--size"),
    (["view", "Nope"], "scene"),  # before it looks for a screen
    (["view", "Push", "--camera", "nosuch", "--out", "x.png"], "--camera"),
    (["view", "Push", "--size", "640by480", "--out", "x.png"], "--size"),
    (["view", "Push", "--robot", "nosuch", "--out", "x.png"], "--robot"),
    (["view", "Push", "--robot", "walker"], "robot must be a tabletop arm"),  # before a screen
    (["teleop", "Push", "--robot", "cheetah"], "robot must be a tabletop arm"),
    (["gui", "--scene", "CheetahRun", "--robot", "so101"], "robot must be the scene's own"),
    (["record", "Push", "--scripted", "0"], "--scripted"),
    (["record", "Push", "--random", "-3"], "--random"),
    (["record", "QuadrupedWalk", "--scripted", "2"], "--scripted"),  # no demonstrator there
    (["record", "CheetahRun", "--perturbed", "2"], "--perturbed"),
    (["record", "Push", "--scripted", "1", "--difficulty", "nan"], "--difficulty"),
    (["record", "Push", "--scripted", "1", "--difficulty", "1.5"], "--difficulty"),
    (["record", "Push", "--scripted", "1", "--seed", "-2"], "--seed"),
    (["view", "CheetahRun", "--scripted", "--out", "x.png"],
     "--scripted: CheetahRun has no scripted demonstrator"),
    (["record", "PushChoice", "--scripted", "1", "--robot", "so101"],
     "--robot: PushChoice's scripted demonstrator is laid out for arm6, not so101"),
    (["record", "Push", "--random", "1", "--robot", "walker"], "robot must be a tabletop arm"),
    (["teach", "Push", "--labels", "0"], "--labels"),
    (["teach", "Push", "--length", "-2"], "--length"),
    (["loop", "Push", "--demos", "0"], "--demos"),
    (["loop", "Push", "--video", "film.avi"], "--video"),  # before anything is recorded
    (["loop", "Push", "--robot", "walker"], "robot must be a tabletop arm"),  # the same
    (["run", "bundle", "--video", "film.gif"], "--video"),
    (["run", "bundle", "--camera", "top"], "--camera"),
    (["record", "Nope", "--scripted", "1"], "Nope"),
    (["dataset", "export", "out", "--scene", "Push", "--layout", "motors"], "--layout"),
    (["dataset", "export", "out.hdf5", "--scene", "Push", "--layout", "joints"],
     "--layout joints writes a LeRobot dataset"),
    (["dataset", "export", "out", "--layout", "joints"], "--layout joints: give --scene"),
]


def _tree(root) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*")}


@pytest.mark.parametrize(("argv", "named"), BAD_ARGUMENTS, ids=lambda a: " ".join(a)
                         if isinstance(a, list) else None)
def test_bad_arguments_are_one_line_errors_that_change_nothing(argv, named, tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_ROBOT_KEY", raising=False)
    workspace = tmp_path / "ws"
    before = _tree(tmp_path)
    try:
        takes_workspace = argv[0] not in ("run", "view")
        code = main([*argv, *(["--workspace", str(workspace)] if takes_workspace else [])])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    message = err.strip().splitlines()[-1]
    assert message.startswith("workbench") and "error" in message and named in message, err
    assert _tree(tmp_path) == before  # nothing written, not even the workspace


# -- generated options -------------------------------------------------------------------------
class Refused(Exception):
    pass


class StrictParser(Parser):
    def error(self, message: str) -> typing.NoReturn:
        raise Refused(message)


# Every generated option of the requests that carry configs: a run's settings, and each
# fittable reward family's settings at Push's defaults.
REQUESTS = [(Train, {})] + [(FitReward, {"family": name, "scene": "Push"})
                            for name in families.fittable() if name != "clip"]
LEAVES = [(cls, known, leaf) for cls, known in REQUESTS for leaf in generate.leaves(cls, known)
          if not leaf.positional and leaf.option != "--workspace"]


def _parse(cls, known, option: str, text: str):
    argv = ["Push", *(["--family", known["family"]] if "family" in known else []),
            f"{option}={text}"]
    parser = StrictParser()
    generate.add_arguments(parser, cls, argv)
    return generate.request_from(cls, parser.parse_args(argv))


def _value(request, leaf):
    value = request
    name, _, path = leaf.dest.partition(generate.SEP)
    for part in [name, *(path.split(".") if path else ())]:
        value = getattr(value, part)
    return value


NASTY = st.one_of(
    st.sampled_from(["", "nan", "-nan", "inf", "-inf", "1e999", "-1", "0", "-0", "1e30",
                     "2**64", "None", "True", "()", "(0,)", "(-1, 5)", "[1e9]", "'x'", "{}",
                     "abc", "a,b", "\ud800", "0x10", "1_000", " 3 ", "cuda:99", "cpu "]),
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)


@settings(max_examples=1500, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(case=st.sampled_from(LEAVES), text=NASTY)
def test_generated_options_are_refused_cleanly_or_give_a_valid_request(case, text):
    """Each option with any text: refused in one line naming the option (or the field), or a
    request whose value respects the field's declared type and bounds; never another
    exception."""
    cls, known, leaf = case
    try:
        request = _parse(cls, known, leaf.option, text)
    except Refused as exc:
        assert leaf.option in str(exc) and "\n" not in str(exc)
        return
    except cfg.ConfigError as exc:
        assert leaf.dest.rpartition(".")[2].rpartition(generate.SEP)[2] in str(exc)
        return
    value = _value(request, leaf)
    inner = typing.get_args(leaf.hint)[0] if typing.get_origin(leaf.hint) is tuple else None
    assert cfg.problem(value, leaf.hint, leaf.meta) is None, (leaf.option, text, value)
    for item in (value if inner else (value,)):
        if isinstance(item, float):
            assert math.isfinite(item)


@settings(max_examples=300, deadline=None, database=None)
@given(data=st.data())
def test_values_within_the_bounds_are_accepted(data):
    """The other direction: validation refuses nothing the bounds allow."""
    cls, known, leaf = data.draw(st.sampled_from(
        [case for case in LEAVES if case[2].hint in (int, float)
         and "choices" not in case[2].meta]))
    meta = leaf.meta
    low = meta.get("min", meta.get("gt", -1e6))
    high = meta.get("max", meta.get("lt", 1e6))
    if leaf.hint is int:
        value = data.draw(st.integers(int(low) + ("gt" in meta), int(min(high, 10**9))))
    else:
        value = data.draw(st.floats(low, high, exclude_min="gt" in meta, exclude_max="lt" in meta,
                                    allow_nan=False))
    assert _value(_parse(cls, known, leaf.option, repr(value)), leaf) == value


def test_a_resumed_run_is_refused_where_its_own_cluster_does_not_answer(tmp_path, capsys):
    # The run goes on with the settings it was started with, so its cluster is the one probed.
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"scene": "Push", "cluster": "127.0.0.1:9"}')
    assert main(["train", "Push", "--resume", str(run), "-w", str(tmp_path / "ws")]) == 2
    assert "nothing answers at 127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "ws").exists()
