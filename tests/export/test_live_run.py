"""What the app's Export panel relies on: a monitor that sees every tick and halts the robot,
and safety limits edited through the `limits` operation (refused ones change nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.operations.run import RunBundle, SetLimits


class Watching:
    """A front end's progress: keeps the telemetry and asks to stop after ``stop_after``."""

    previews = False

    def __init__(self, stop_after: int | None = None):
        self.events, self.stop_after = [], stop_after

    def emit(self, kind, **data):
        self.events.append((kind, data))

    def should_stop(self):
        return self.stop_after is not None and len(self.events) >= self.stop_after


def test_a_stop_from_the_front_end_halts_the_run_without_a_verdict(bundle):
    from workbench.export.runner import run_in_sim
    from workbench.operations.run import Telemetry

    progress = Watching(stop_after=3)
    monitor = Telemetry(progress, rate_hz=1e6)  # every tick reported
    result = run_in_sim(bundle, episodes=5, monitor=monitor)
    assert result["halted"] and result["episodes"] == 0  # no success judged on a cut episode
    ticks = [data for kind, data in progress.events if kind == "telemetry"]
    assert [t["tick"] for t in ticks] == [1, 2, 3]
    dim = len(ticks[0]["action"])
    assert all(len(t["command"]) == dim for t in ticks) and ticks[0]["observation"]
    # The filter's command is within the bundle's limits whatever the policy asked for.
    assert all(-1.0 <= c <= 1.0 for t in ticks for c in t["command"])


def test_the_telemetry_is_throttled_but_the_stop_is_heard_every_tick(bundle):
    progress = Watching()
    result = RunBundle(bundle=bundle, episodes=1).perform(progress)
    assert not result["halted"] and result["episodes"] == 1
    telemetry = [data for kind, data in progress.events if kind == "telemetry"]
    assert 1 <= len(telemetry) < 60  # a fast simulated episode: a few reports, not each tick


def test_limits_are_checked_and_saved_and_refused_ones_change_nothing(bundle):
    before = (bundle / "bundle.json").read_bytes()
    for bad, says in [({"low": (0.5,), "high": (0.2,)}, "below"),
                      ({"max_velocity": (float("nan"),)}, "finite"),
                      ({"high": (2.0,)}, "action range"),
                      ({"low": (-1.0, -1.0)}, r"low: give one value per action \(\d+\), or one")]:
        with pytest.raises(ValueError, match=says):
            SetLimits(bundle=bundle, **bad).perform(Watching())
        assert (bundle / "bundle.json").read_bytes() == before
    saved = SetLimits(bundle=bundle, max_velocity=(0.5,), watchdog_timeout=0.1).perform(
        Watching())
    dim = len(saved["safety"]["low"])
    assert saved["safety"]["max_velocity"] == [0.5] * dim  # one value: every dimension
    from workbench.export.runner import OnnxPolicy, default_limits

    limits = default_limits(OnnxPolicy(bundle).meta)  # the checksums still hold
    assert limits.max_velocity == (0.5,) * dim and limits.watchdog_timeout == 0.1
    # The runner now enforces them: no command moves faster than 0.5 units a second.
    progress = Watching(stop_after=40)
    from workbench.export.runner import run_in_sim
    from workbench.operations.run import Telemetry

    run_in_sim(bundle, episodes=1, monitor=Telemetry(progress, rate_hz=1e6))
    commands = np.array([d["command"] for k, d in progress.events if k == "telemetry"])
    dt = 1.0 / OnnxPolicy(bundle).meta["control_rate_hz"]
    assert np.abs(np.diff(commands, axis=0)).max() <= 0.5 * dt + 1e-3
