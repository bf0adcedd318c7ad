"""Generated hostile input at the edges where files and packets enter: robot-link datagrams,
bundle safety limits, reward artifacts' config.json and goal sentences. Each must be refused
with the edge's own error (or accepted only when valid); no other exception escapes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.export.link import Inbox, seal
from workbench.export.safety import SafetyLimits
from workbench.rewards.artifact import ArtifactError, load_reward_model
from workbench.sentences import check_sentence

KEY = b"k" * 32


def fuzz(examples: int):
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12)
OBSERVATION_LIKE = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["observation", "command", "hello", ""]) | JSON,
    "seq": st.integers(-5, 2**64) | JSON,
    "stamp": st.floats() | JSON,
    "values": st.lists(st.floats() | st.integers() | st.text(max_size=2), max_size=4) | JSON,
})


@fuzz(600)
@given(data=st.binary(max_size=300))
def test_random_datagrams_are_dropped_and_counted(data):
    inbox = Inbox(KEY, 2)
    assert inbox.accept(data) is None
    assert sum(inbox.dropped.values()) == 1


@fuzz(900)
@given(messages=st.lists(OBSERVATION_LIKE, min_size=1, max_size=6))
def test_sealed_messages_are_accepted_only_when_valid_and_newer(messages):
    """Authentic (correctly sealed) but arbitrary messages: what gets through is an
    observation with finite values of the right size and a larger sequence number."""
    inbox = Inbox(KEY, 2)
    last = -1
    for message in messages:
        try:
            data = seal(KEY, message)
        except ValueError:  # NaN or Infinity: seal refuses to write them
            continue
        accepted = inbox.accept(data)
        if accepted is not None:
            seq, stamp, values = accepted
            assert message["type"] == "observation" and seq > last and math.isfinite(stamp)
            assert len(values) == 2 and all(math.isfinite(v) for v in values)
            last = seq


LIMIT_VALUES = st.lists(st.floats() | st.integers(-10**6, 10**6), min_size=0, max_size=3)


@fuzz(500)
@given(block=st.dictionaries(
    st.sampled_from(["low", "high", "max_velocity", "max_acceleration", "watchdog_timeout",
                     "extra"]),
    LIMIT_VALUES | st.floats() | JSON, max_size=6))
def test_safety_blocks_are_valid_or_refused(block):
    try:
        limits = SafetyLimits.from_dict(block)
    except ValueError:
        return
    assert all(math.isfinite(v) for v in (*limits.low, *limits.high, *limits.max_velocity,
                                          *limits.max_acceleration))
    assert all(lo < hi for lo, hi in zip(limits.low, limits.high, strict=True))
    assert 0 < limits.watchdog_timeout <= 2.0


@fuzz(300)
@given(config=JSON, weights=st.binary(max_size=64))
def test_reward_artifacts_with_any_config_fail_as_artifact_errors(config, weights,
                                                                  tmp_path_factory):
    folder = Path(tmp_path_factory.mktemp("artifact"))
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(weights)
    with pytest.raises(ArtifactError):
        load_reward_model(folder, device="cpu")


@fuzz(300)
@given(sentence=st.text(max_size=40) | st.text(alphabet=st.characters(
    categories=["Cs", "Zs", "Cc"]), max_size=5))
def test_goal_sentences_are_checked_cleanly(sentence):
    try:
        assert check_sentence(sentence) == sentence
    except ValueError as exc:
        assert "goal sentence" in str(exc)


def _real_artifact(root: Path) -> dict:
    from workbench.rewards.progress import ProgressConfig, ProgressRewardModel

    model = ProgressRewardModel(2, {"x": 2}, "Push", ProgressConfig(hidden=(4,)), device="cpu")
    model.save(root)
    return json.loads((root / "config.json").read_text())


@fuzz(400)
@given(key=st.sampled_from(["family", "scene", "input_dim", "features", "config", "metrics",
                            "version", "sha256", "config.hidden", "config.epochs",
                            "config.inputs", "config.device", "features.x"]),
       value=JSON)
def test_a_real_artifact_with_one_field_changed_loads_or_fails_as_an_artifact_error(
        key, value, tmp_path_factory):
    folder = Path(tmp_path_factory.mktemp("artifact"))
    header = _real_artifact(folder)
    outer, _, inner = key.partition(".")
    if inner and isinstance(header.get(outer), dict):
        header[outer][inner] = value
    else:
        header[outer] = value
    (folder / "config.json").write_text(json.dumps(header))
    try:
        model = load_reward_model(folder, device="cpu")
    except ArtifactError:
        return
    assert model.score(__import__("numpy").zeros((3, model.input_dim), "float32")).shape == (3,)
