"""The safety filter against hostile policies, and the UDP driver against a fake robot process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from workbench.export.drivers import UdpDriver
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


def fake_robot(tmp_path: Path, seconds: float, freeze_after: int | None = None):
    port_file, result = tmp_path / "port", tmp_path / "result.json"
    args = [sys.executable, str(Path(__file__).with_name("fake_robot.py")), str(port_file),
            str(result), "2", "50", str(seconds)]
    if freeze_after is not None:
        args.append(str(freeze_after))
    process = subprocess.Popen(args)
    deadline = time.monotonic() + 20
    while not (port_file.exists() and port_file.read_text()):
        assert time.monotonic() < deadline, "the fake robot did not start"
        time.sleep(0.05)
    return process, int(port_file.read_text()), result


def test_udp_driver_runs_a_policy_on_a_robot_process(tmp_path):
    process, port, result = fake_robot(tmp_path, seconds=3.0)
    driver = UdpDriver(("127.0.0.1", port), control_rate_hz=50)
    safety = SafetyFilter(LIMITS, 1 / 50)
    time.sleep(0.2)  # let the first observations arrive
    report = drive(Hostile(lambda t: np.array([0.5, -0.25])), driver, safety, 60)
    driver.close()
    process.wait(timeout=10)
    received = json.loads(result.read_text())
    assert not report.stopped and report.steps == 60
    assert len(received["commands"]) >= 55 and received["stops"] == 0
    assert received["commands"][-1] == pytest.approx([0.5, -0.25])
    assert report.latency_p99_ms < 20


def test_udp_robot_that_falls_silent_is_stopped(tmp_path):
    process, port, result = fake_robot(tmp_path, seconds=3.0, freeze_after=15)
    driver = UdpDriver(("127.0.0.1", port), control_rate_hz=50)
    safety = SafetyFilter(LIMITS, 1 / 50)
    time.sleep(0.2)
    report = drive(Hostile(lambda t: np.array([0.2, 0.1])), driver, safety, 500)
    time.sleep(0.1)
    driver.close()
    process.wait(timeout=10)
    assert report.stopped and report.interventions.get("watchdog") == 1
    assert json.loads(result.read_text())["stops"] == 1
