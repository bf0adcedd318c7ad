"""The safety filter against hostile policies and hostile limits (the UDP link: test_robot_link)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.export.runner import drive
from workbench.export.safety import SafetyFilter, SafetyLimits

DT = 0.04
LIMITS = SafetyLimits(low=(-1.0, -0.5), high=(1.0, 0.5), max_velocity=(5.0, 5.0),
                      max_acceleration=(100.0, 100.0), watchdog_timeout=0.2)


class Hostile:
    def __init__(self, fn):
        self.fn, self.t = fn, 0

    def act(self, obs):
        self.t += 1
        return self.fn(self.t)


class ScriptedDriver:
    """A driver whose observations can freeze; records what it was sent."""

    control_rate_hz = 1 / DT

    def __init__(self, freeze_after: int | None = None):
        self.clock, self.sent, self.stops, self.freeze_after = 0.0, [], 0, freeze_after
        self.stamp = 0.0

    def now(self):
        return self.clock

    def read(self):
        from workbench.export.drivers import Observation

        if self.freeze_after is None or len(self.sent) < self.freeze_after:
            self.stamp = self.clock
        return Observation(np.zeros(3, np.float32), self.stamp)

    def send(self, command):
        self.sent.append(np.array(command))
        self.clock += DT

    def stop(self):
        self.stops += 1


def within_limits(commands: np.ndarray) -> None:
    assert np.isfinite(commands).all()
    assert np.all(commands >= np.array(LIMITS.low) - 1e-12)
    assert np.all(commands <= np.array(LIMITS.high) + 1e-12)
    steps = np.diff(np.vstack([np.zeros(2), commands]), axis=0)
    assert np.all(np.abs(steps) <= np.array(LIMITS.max_velocity) * DT + 1e-12)
    assert np.all(np.abs(np.diff(steps, axis=0)) <= np.array(LIMITS.max_acceleration) * DT**2
                  + 1e-12)


@pytest.mark.parametrize("name, policy", [
    ("nan", Hostile(lambda t: np.array([np.nan, 0.3]) if t % 2 else np.array([np.inf, -np.inf]))),
    ("huge", Hostile(lambda t: np.array([1e9, -1e9]))),
    ("oscillating", Hostile(lambda t: np.array([1.0, 0.5]) * (-1) ** t)),
])
def test_hostile_policies_never_get_an_unsafe_command_through(name, policy):
    driver = ScriptedDriver()
    safety = SafetyFilter(LIMITS, DT)
    report = drive(policy, driver, safety, 200, realtime=False)
    commands = np.array(driver.sent)
    assert len(commands) == 200 and not report.stopped
    within_limits(commands)
    expected = {"nan": "non_finite", "huge": "position", "oscillating": "acceleration"}[name]
    assert report.interventions.get(expected, 0) > 0


def test_frozen_observations_trip_the_watchdog_and_stop_the_robot():
    driver = ScriptedDriver(freeze_after=20)
    safety = SafetyFilter(LIMITS, DT)
    report = drive(Hostile(lambda t: np.array([0.5, 0.2])), driver, safety, 500, realtime=False)
    assert report.stopped and driver.stops == 1
    assert len(driver.sent) <= 20 + int(LIMITS.watchdog_timeout / DT) + 1
    assert report.interventions == {**report.interventions, "watchdog": 1}


def test_emergency_stop_latches_until_released(tmp_path):
    safety = SafetyFilter(LIMITS, DT, log_path=tmp_path / "interventions.jsonl")
    safety(np.array([0.1, 0.1]))
    safety.estop()
    for _ in range(3):
        command, stop = safety(np.array([0.9, 0.4]))
        assert stop and np.allclose(command, [0.1, 0.1])
    safety.release()
    _, stop = safety(np.array([0.15, 0.1]))
    assert not stop
    logged = [json.loads(line) for line in (tmp_path / "interventions.jsonl").read_text().split(
        "\n") if line]
    assert [r["kind"] for r in logged] == ["estop"] * 3


@pytest.mark.parametrize(("limits", "message"), [
    ({"low": [float("nan"), -1], "high": [1, 1]}, "finite"),
    ({"low": [-1, -1], "high": [1, float("inf")]}, "finite"),
    ({"low": [1, -1], "high": [-1, 1]}, "below"),
    ({"low": [-1, -1], "high": [1, 1], "max_velocity": [0, 1]}, "positive"),
    ({"low": [-1, -1], "high": [1, 1], "max_acceleration": [-5, 1]}, "positive"),
    ({"low": [-1, -1], "high": [1, 1], "watchdog_timeout": float("nan")}, "watchdog"),
    ({"low": [-1, -1], "high": [1, 1], "watchdog_timeout": 1e9}, "watchdog"),
    ({"low": [-1, -1], "high": [1, 1, 1]}, "values"),
    ({"low": [-1, -1]}, "safety block"),
    ({"low": [-1, -1], "high": [1, 1], "speed": 3}, "safety block"),
])
def test_bad_limits_in_a_bundle_are_refused_before_anything_moves(limits, message):
    data = {"max_velocity": [1, 1], "max_acceleration": [1, 1], **limits}
    with pytest.raises(ValueError, match=message):
        SafetyLimits.from_dict(data)


def test_limits_reaching_outside_the_action_range_are_refused():
    from workbench.export.runner import default_limits

    meta = {"action": {"dim": 2, "low": -1.0, "high": 1.0}, "control_rate_hz": 25,
            "safety": {"low": [-1, -1], "high": [1e9, 1], "max_velocity": [1, 1],
                       "max_acceleration": [1, 1]}}
    with pytest.raises(ValueError, match="outside the action range"):
        default_limits(meta)


def test_acceleration_limits_hold_when_a_position_limit_clips():
    """Full speed towards a limit: the filter brakes within the acceleration limit instead of
    stopping dead at the limit (which broke it 5x before)."""
    limits = SafetyLimits(low=(-1.0,), high=(1.0,), max_velocity=(10.0,),
                          max_acceleration=(60.0,), watchdog_timeout=0.2)
    safety = SafetyFilter(limits, DT)
    sent = [safety(np.array([1.0]))[0][0] for _ in range(60)]
    sent += [safety(np.array([-1.0]))[0][0] for _ in range(60)]
    commands = np.array(sent)[:, None]
    steps = np.diff(np.vstack([[[0.0]], commands]), axis=0)
    changes = np.abs(np.diff(steps, axis=0))
    assert np.all(np.abs(commands) <= 1.0 + 1e-12)
    assert changes.max() <= 60.0 * DT**2 + 1e-12
    assert commands[59, 0] == pytest.approx(1.0) and commands[-1, 0] == pytest.approx(-1.0)


def test_any_commands_under_any_valid_limits_keep_all_three_limits():
    """100 random limit sets, 200 hostile commands each (random, slammed to +-10, the limits
    themselves): positions, steps and step changes stay within bounds every tick."""
    rng = np.random.default_rng(0)
    for _ in range(100):
        low, high = -rng.uniform(0.1, 2, 3), rng.uniform(0.1, 2, 3)
        velocity, acceleration, dt = rng.uniform(0.5, 20, 3), rng.uniform(1, 500, 3), rng.uniform(
            0.005, 0.1)
        safety = SafetyFilter(SafetyLimits(tuple(low), tuple(high), tuple(velocity),
                                           tuple(acceleration), 0.2), dt)
        last, last_step = np.zeros(3), np.zeros(3)
        for _ in range(200):
            kind = rng.integers(4)
            command = [rng.uniform(-5, 5, 3), np.sign(rng.normal(size=3)) * 10, high, low][kind]
            sent, _ = safety(command)
            step = sent - last
            assert np.all((sent >= low - 1e-12) & (sent <= high + 1e-12))
            assert np.all(np.abs(step) <= velocity * dt * (1 + 1e-9))
            assert np.all(np.abs(step - last_step) <= acceleration * dt * dt * (1 + 1e-9))
            last, last_step = sent, step
