"""Bad input gets a one-line error naming the option and what it allows: no traceback, no
silently accepted value, nothing written.

Two corpora: hand-picked CLI arguments that once slipped through (tracebacks, wrong values
accepted silently), and generated config overrides for every field of every checked config.
"""

from __future__ import annotations

import dataclasses
import math
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import config as cfg
from workbench.cli.main import main
from workbench.rewards.perceptual import PerceptualConfig
from workbench.rewards.preference import PreferenceConfig
from workbench.rewards.progress import ProgressConfig
from workbench.rewards.staged import StagedConfig
from workbench.rewards.vision_language import VisionLanguageConfig
from workbench.rl.curriculum import CurriculumConfig
from workbench.rl.run import RunConfig
from workbench.rl.sac import SACConfig

CONFIGS = (RunConfig, SACConfig, CurriculumConfig, ProgressConfig, PreferenceConfig,
           StagedConfig, PerceptualConfig, VisionLanguageConfig)  # RunConfig nests PPO, online

# (arguments, what the one-line error must name)
BAD_ARGUMENTS = [
    (["train", "Push", "--steps", "0"], "--steps"),
    (["train", "Push", "--steps", "-5"], "--steps"),
    (["train", "Push", "--steps", "1e30"], "--steps"),
    (["train", "Push", "--set", "ppo.gamma=2.5"], "gamma"),
    (["train", "Push", "--set", "ppo.num_envs=0"], "num_envs"),
    (["train", "Push", "--set", "ppo.hidden=abc"], "hidden"),
    (["train", "Push", "--set", "ppo.lr=nan"], "lr"),
    (["train", "Push", "--set", "ppo.lr=1e999"], "lr"),
    (["train", "Push", "--set", "ppo.device=tpu"], "device"),
    (["train", "Push", "--set", "difficulty=-0.1"], "difficulty"),
    (["train", "Push", "--set", "transform=log"], "transform"),
    (["train", "Push", "--set", "eval_episodes=-1"], "eval_episodes"),
    (["train", "Push", "--set", "nonsense=1"], "nonsense"),
    (["train", "Push", "--set", "ppo.lr"], "key=value"),
    (["train-reward", "Push", "--set", "epochs=-1"], "epochs"),
    (["train-reward", "Push", "--set", "epochs=0"], "epochs"),
    (["train-reward", "Push", "--set", "hidden=(0,)"], "hidden"),
    (["train-reward", "Push", "--set", "lr=-1"], "lr"),
    (["train-reward", "Push", "--family", "preference", "--set", "members=0"], "members"),
    (["train-reward", "Push", "--family", "perceptual", "--set", "image_size=2"], "image_size"),
    (["train-reward", "Push", "--family", "nope"], "--family"),
    (["run", "bundle", "--episodes", "0"], "--episodes"),
    (["run", "bundle", "--robot", "host:99999"], "--robot"),
    (["run", "bundle", "--robot", "no-port"], "--robot"),
    (["run", "bundle", "--steps", "0"], "--steps"),
    (["run", "bundle", "--robot", "127.0.0.1:9"], "shared key"),
    (["run", "bundle", "--robot", "127.0.0.1:9", "--listen", "0.0.0.0:0"], "--listen"),
    (["view", "Push", "--size", "0x0", "--out", "x.png"], "--size"),
    (["view", "Push", "--size", "640by480", "--out", "x.png"], "--size"),
    (["record", "Push", "--scripted", "0"], "--scripted"),
    (["record", "Push", "--random", "-3"], "--random"),
    (["record", "Push", "--scripted", "1", "--difficulty", "nan"], "--difficulty"),
    (["record", "Push", "--scripted", "1", "--difficulty", "1.5"], "--difficulty"),
    (["record", "Push", "--scripted", "1", "--seed", "-1"], "--seed"),
    (["teach", "Push", "--labels", "0"], "--labels"),
    (["teach", "Push", "--length", "-2"], "--length"),
    (["loop", "Push", "--demos", "0"], "--demos"),
    (["record", "Nope", "--scripted", "1"], "Nope"),
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


# -- generated overrides ---------------------------------------------------------------------
def _leaves(cls: type, prefix: str = "") -> list[tuple[str, typing.Any, dataclasses.Field]]:
    hints = typing.get_type_hints(cls)
    leaves = []
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            leaves += _leaves(hints[f.name], f"{prefix}{f.name}.")
        else:
            leaves.append((f"{prefix}{f.name}", hints[f.name], f))
    return leaves


LEAVES = [(cls, *leaf) for cls in CONFIGS for leaf in _leaves(cls)]
NASTY = st.one_of(
    st.sampled_from(["", "nan", "-nan", "inf", "-inf", "1e999", "-1", "0", "-0", "1e30",
                     "2**64", "None", "True", "()", "(0,)", "(-1, 5)", "[1e9]", "'x'", "{}",
                     "abc", "a,b", "\ud800", "0x10", "1_000", " 3 ", "cuda:99", "cpu "]),
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)


@settings(max_examples=2500, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(leaf=st.sampled_from(LEAVES), text=NASTY)
def test_generated_overrides_are_refused_cleanly_or_give_a_valid_config(leaf, text):
    """Each generated ``key=value``: a ConfigError naming the key, or a config whose value
    respects the field's declared type and bounds; never another exception."""
    cls, path, hint, field = leaf
    try:
        config = cfg.override(cls(), [f"{path}={text}"])
    except cfg.ConfigError as exc:
        assert path.split(".")[-1] in str(exc) and "\n" not in str(exc)
        return
    value = config
    for name in path.split("."):
        value = getattr(value, name)
    assert cfg._problem(value, hint, field.metadata) is None
    if isinstance(value, float):
        assert math.isfinite(value)


@settings(max_examples=300, deadline=None, database=None)
@given(data=st.data())
def test_values_within_the_bounds_are_accepted(data):
    """The other direction: validation refuses nothing the bounds allow."""
    cls, path, hint, field = data.draw(st.sampled_from(
        [leaf for leaf in LEAVES if leaf[2] in (int, float) and "choices" not in leaf[3].metadata]))
    meta = field.metadata
    low = meta.get("min", meta.get("gt", -1e6))
    high = meta.get("max", meta.get("lt", 1e6))
    if hint is int:
        value = data.draw(st.integers(int(low) + ("gt" in meta), int(min(high, 10**9))))
    else:
        value = data.draw(st.floats(low, high, exclude_min="gt" in meta, exclude_max="lt" in meta,
                                    allow_nan=False))
    config = cfg.override(cls(), [f"{path}={value!r}"])
    for name in path.split("."):
        config = getattr(config, name)
    assert config == value
