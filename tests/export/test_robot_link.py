"""The authenticated UDP robot link on loopback, with real sockets and bounded loops: a fake
robot process, and the test itself as the robot and as an attacker on another port."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from workbench.export.drivers import UdpDriver
from workbench.export.link import TAG, LinkError, load_key, seal
from workbench.export.runner import drive
from workbench.export.safety import SafetyFilter, SafetyLimits

KEY = b"a shared key of 32 bytes, test!!"
LIMITS = SafetyLimits(low=(-1.0, -0.5), high=(1.0, 0.5), max_velocity=(5.0, 5.0),
                      max_acceleration=(100.0, 100.0), watchdog_timeout=0.2)
ROOT = Path(__file__).resolve().parents[2]


class Constant:
    def __init__(self, action):
        self.action, self.seen = np.asarray(action), []

    def act(self, obs):
        self.seen.append(np.array(obs))
        return self.action


def fake_robot(tmp_path: Path, seconds: float, freeze_after: int | None = None):
    port_file, result = tmp_path / "port", tmp_path / "result.json"
    args = [sys.executable, str(Path(__file__).with_name("fake_robot.py")), str(port_file),
            str(result), "2", "50", str(seconds)]
    if freeze_after is not None:
        args.append(str(freeze_after))
    process = subprocess.Popen(args, env={**os.environ, "WORKBENCH_ROBOT_KEY": KEY.decode()})
    deadline = time.monotonic() + 20
    while not (port_file.exists() and port_file.read_text()):
        assert time.monotonic() < deadline, "the fake robot did not start"
        time.sleep(0.05)
    return process, int(port_file.read_text()), result


def finish(process, result: Path) -> dict:
    process.send_signal(signal.SIGTERM)  # it writes what it received and exits
    process.wait(timeout=10)
    return json.loads(result.read_text())


def test_a_policy_drives_the_robot_process_and_the_run_ends_on_a_stop(tmp_path):
    process, port, result = fake_robot(tmp_path, seconds=10.0)
    driver = UdpDriver(("127.0.0.1", port), KEY, 2, ("127.0.0.1", 0), control_rate_hz=50)
    first = driver.start(timeout=5.0)  # the handshake: nothing is sent before this
    report = drive(Constant([0.5, -0.25]), driver, SafetyFilter(LIMITS, 1 / 50), 60)
    driver.stop()
    time.sleep(0.1)
    driver.close()
    received = finish(process, result)["received"]
    assert first.values.shape == (2,)
    assert not report.stopped and report.steps == 60 and report.dropped == {}
    commands = [m[1] for m in received if m[0] == "command"]
    assert len(commands) >= 55 and commands[-1] == pytest.approx([0.5, -0.25])
    assert received[-1] == ["stop"] and ["stop"] not in received[:-1]


def test_the_watchdog_stops_a_robot_that_falls_silent(tmp_path):
    process, port, result = fake_robot(tmp_path, seconds=10.0, freeze_after=15)
    driver = UdpDriver(("127.0.0.1", port), KEY, 2, ("127.0.0.1", 0), control_rate_hz=50)
    driver.start(timeout=5.0)
    started = time.monotonic()
    report = drive(Constant([0.2, 0.1]), driver, SafetyFilter(LIMITS, 1 / 50), 500)
    took = time.monotonic() - started
    time.sleep(0.1)
    driver.close()
    received = finish(process, result)["received"]
    assert report.stopped and report.interventions.get("watchdog") == 1
    assert took < 15 / 50 + LIMITS.watchdog_timeout + 0.5  # the last observation, then 0.2 s
    assert received[-1] == ["stop"]


class Robot:
    """The test as the robot: a real socket the driver talks to, sending sealed messages."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = self.sock.getsockname()

    def send(self, data: bytes, to) -> None:
        self.sock.sendto(data, to)

    def close(self):
        self.sock.close()


def observation(seq, values, stamp=None):
    return {"type": "observation", "seq": seq, "stamp": float(seq) if stamp is None else stamp,
            "values": values}


def raw(body: bytes, key: bytes = KEY) -> bytes:
    import hashlib
    import hmac

    return hmac.new(key, body, hashlib.sha256).digest() + body


def settle(driver, expected):
    """Read until the driver's newest observation is ``expected`` (bounded)."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        latest = driver.read()
        if latest is not None and np.allclose(latest.values, expected):
            return latest
        time.sleep(0.002)
    raise AssertionError(f"the driver never saw {expected}; it has {driver.read()}")


def test_forged_replayed_old_and_malformed_datagrams_never_reach_the_policy():
    robot, attacker = Robot(), Robot()
    driver = UdpDriver(robot.address, KEY, 2, ("127.0.0.1", 0))
    to = driver.address
    try:
        genuine = seal(KEY, observation(1, [1.0, 1.0]))
        robot.send(genuine, to)
        settle(driver, [1.0, 1.0])
        hostile = [
            (attacker, seal(KEY, observation(50, [9.0, 9.0])), "other_sender"),
            (robot, seal(b"not the key, but 32 bytes long!!", observation(51, [9.0, 9.0])),
             "forged"),
            (robot, genuine, "replayed_or_old"),
            (robot, seal(KEY, observation(0, [9.0, 9.0])), "replayed_or_old"),
            (robot, b"", "size"),
            (robot, b"x" * TAG, "size"),
            (robot, os.urandom(60_000), "forged"),
            (robot, raw(b"{not json"), "not_json"),
            (robot, raw(b"\xff\xfe"), "not_json"),
            (robot, raw(b"[1, 2]"), "not_an_object"),
            (robot, raw(json.dumps({"type": "observation", "stamp": 1.0,
                                    "values": [9, 9]}).encode()), "bad_seq"),
            (robot, seal(KEY, {**observation(52, [9, 9]), "seq": -3}), "bad_seq"),
            (robot, seal(KEY, {**observation(52, [9, 9]), "seq": "53"}), "bad_seq"),
            (robot, seal(KEY, {**observation(52, [9, 9]), "seq": True}), "bad_seq"),
            (robot, seal(KEY, {"type": "command", "seq": 54, "values": [9, 9]}),
             "not_an_observation"),
            (robot, raw(b'{"type":"observation","seq":55,"stamp":NaN,"values":[9,9]}'),
             "not_json"),
            (robot, raw(b'{"type":"observation","seq":56,"stamp":1e999,"values":[9,9]}'),
             "bad_stamp"),
            (robot, seal(KEY, observation(57, [9, 9], stamp="soon")), "bad_stamp"),
            (robot, raw(b'{"type":"observation","seq":58,"stamp":5,"values":[1e999,9]}'),
             "bad_values"),
            (robot, seal(KEY, observation(59, [9, 9, 9])), "bad_values"),
            (robot, seal(KEY, observation(60, ["9", 9])), "bad_values"),
            (robot, seal(KEY, observation(61, [9, 9], stamp=0.5)), "stamp_went_back"),
        ]
        for sender, data, _ in hostile:
            sender.send(data, to)
        robot.send(seal(KEY, observation(100, [2.0, 2.0])), to)  # genuine again
        settle(driver, [2.0, 2.0])
        expected: dict[str, int] = {}
        for *_, reason in hostile:
            expected[reason] = expected.get(reason, 0) + 1
        assert driver.dropped == expected

        # Two in one tick, the older arriving last: the newer one counts.
        robot.send(seal(KEY, observation(102, [4.0, 4.0])), to)
        robot.send(seal(KEY, observation(101, [3.0, 3.0])), to)
        settle(driver, [4.0, 4.0])
        time.sleep(0.05)
        assert np.allclose(driver.read().values, [4.0, 4.0])
    finally:
        driver.close()
        robot.close()
        attacker.close()


def test_nothing_moves_before_the_first_valid_observation():
    robot = Robot()
    robot.sock.settimeout(0.01)
    driver = UdpDriver(robot.address, KEY, 2, ("127.0.0.1", 0))
    try:
        robot.send(seal(b"not the key, but 32 bytes long!!", observation(1, [0, 0])),
                   driver.address)
        with pytest.raises(LinkError, match="no valid observation"):
            driver.start(timeout=0.5)
        kinds = []
        while True:
            try:
                data, _ = robot.sock.recvfrom(65536)
            except TimeoutError:
                break
            kinds.append(json.loads(data[TAG:])["type"])
        assert kinds and set(kinds) == {"hello"}  # asked, never commanded
    finally:
        driver.close()
        robot.close()


def test_future_and_non_finite_stamps_cannot_disable_the_watchdog():
    """The watchdog counts from when an observation arrived here, not from the robot's stamp:
    a stamp far in the future is accepted once and still goes stale in 0.2 s."""
    robot = Robot()
    driver = UdpDriver(robot.address, KEY, 2, ("127.0.0.1", 0), control_rate_hz=50)
    try:
        robot.send(seal(KEY, observation(1, [0.0, 0.0], stamp=1e12)), driver.address)
        robot.send(raw(b'{"type":"observation","seq":2,"stamp":Infinity,"values":[0,0]}'),
                   driver.address)
        settle(driver, [0.0, 0.0])
        started = time.monotonic()
        report = drive(Constant([0.1, 0.1]), driver, SafetyFilter(LIMITS, 1 / 50), 500)
        assert report.stopped and report.interventions.get("watchdog") == 1
        assert time.monotonic() - started < LIMITS.watchdog_timeout + 0.3
    finally:
        driver.close()
        robot.close()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A real bundle of an untrained two-in, two-out policy (torch only to write it)."""
    import torch

    from workbench.export.bundle import export_bundle
    from workbench.rl.policy import GaussianPolicy

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("bundle") / "bundle"
    contract = {"scene": "Push", "control_rate_hz": 50.0, "control_mode": "ee_delta_planar",
                "observation_features": {"x": 2}, "action_labels": ["dx", "dy"]}
    export_bundle(GaussianPolicy(2, 2), out, contract,
                  np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32))
    return out


RUNNER = """
import sys
from workbench.export import runner
if sys.argv[3] == "error":  # a policy that fails after 20 steps
    act, calls = runner.OnnxPolicy.act, [0]
    def failing(self, obs):
        calls[0] += 1
        if calls[0] > 20:
            raise RuntimeError("the policy broke")
        return act(self, obs)
    runner.OnnxPolicy.act = failing
runner.run_on_robot(sys.argv[1], ("127.0.0.1", int(sys.argv[2])), 100_000, key=b"%s",
                    listen=("127.0.0.1", 0))
"""


@pytest.mark.parametrize("ending", ["SIGTERM", "SIGINT", "error"])
def test_a_stop_is_the_last_command_on_every_way_out(ending, bundle, tmp_path):
    process, port, result = fake_robot(tmp_path, seconds=20.0)
    # Ctrl+C as in a terminal: a harness may leave SIGINT ignored, which a child inherits
    # (Python then never raises KeyboardInterrupt).
    runner = subprocess.Popen([sys.executable, "-c", RUNNER % KEY.decode(), str(bundle),
                               str(port), ending], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        if ending != "error":
            deadline = time.monotonic() + 30
            while not result.with_suffix(".moving").exists():  # ten commands arrived
                assert runner.poll() is None, runner.stderr.read()
                assert time.monotonic() < deadline, "the runner never moved the robot"
                time.sleep(0.02)
            runner.send_signal(getattr(signal, ending))
        runner.wait(timeout=20)
    finally:
        if runner.poll() is None:
            runner.kill()
    time.sleep(0.1)
    received = finish(process, result)["received"]
    commands = [m for m in received if m[0] == "command"]
    assert len(commands) >= 10, runner.stderr.read()
    assert received[-1] == ["stop"]
    assert runner.returncode != 0
    assert all(math.isfinite(v) for m in commands for v in m[1])


def test_the_key_is_required_and_long_enough(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_ROBOT_KEY", raising=False)
    with pytest.raises(LinkError, match="needs a shared key"):
        load_key()
    short = tmp_path / "key"
    short.write_bytes(b"short")
    with pytest.raises(LinkError, match="at least 16"):
        load_key(short)
    short.write_bytes(KEY + b"\n")
    assert load_key(short) == KEY
