"""Run an exported policy bundle with numpy and onnxruntime only (no torch): read an
observation from a robot driver, run the ONNX policy, pass the command through the safety
filter, send it, at the driver's control rate.

Example:
    >>> policy = OnnxPolicy("bundle/")
    >>> report = drive(policy, UdpDriver(("10.0.0.2", 9870)), SafetyFilter(limits, 0.04), 1000)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from workbench.export.drivers import RobotDriver, SimDriver
from workbench.export.safety import SafetyFilter, SafetyLimits

BUNDLE_FORMAT = "workbench-policy-bundle"


class BundleError(RuntimeError):
    pass


class OnnxPolicy:
    def __init__(self, bundle_dir: str | Path):
        root = Path(bundle_dir)
        meta_path = root / "bundle.json"
        if not meta_path.exists():
            raise BundleError(f"{root} is not a policy bundle: no bundle.json")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        if self.meta.get("format") != BUNDLE_FORMAT:
            raise BundleError(f"{meta_path} is not a {BUNDLE_FORMAT}")
        self.session = ort.InferenceSession(
            str(root / "policy.onnx"), providers=["CPUExecutionProvider"]
        )
        self.obs_dim = int(self.meta["observation"]["dim"])
        self.act_dim = int(self.meta["action"]["dim"])

    def act(self, observation: np.ndarray) -> np.ndarray:
        obs = np.asarray(observation, dtype=np.float32)
        single = obs.ndim == 1
        batch = obs[None] if single else obs
        if batch.shape[1] != self.obs_dim:
            raise BundleError(
                f"observation has {batch.shape[1]} values; this bundle takes {self.obs_dim} "
                f"({self.meta['observation'].get('features')})"
            )
        action = self.session.run(["action"], {"observation": batch})[0]
        return action[0] if single else action


@dataclass
class RunReport:
    steps: int
    latency_p50_ms: float  # observation in -> safe command out (policy + safety filter)
    latency_p99_ms: float
    missed_ticks: int  # control ticks that started late (real-time runs)
    stopped: bool  # the safety filter stopped the robot (watchdog or e-stop)
    interventions: dict[str, int] = field(default_factory=dict)


def default_limits(meta: dict[str, Any]) -> SafetyLimits:
    """The bundle's safety block, or limits that only clip to the action range and stop on
    stale observations (tighten them per robot in bundle.json -> safety)."""
    if "safety" in meta:
        return SafetyLimits.from_dict(meta["safety"])
    rate = float(meta.get("control_rate_hz", 25.0))
    return SafetyLimits.uniform(int(meta["action"]["dim"]), velocity=2.0 * rate,
                                acceleration=4.0 * rate**2, watchdog_timeout=5.0 / rate)


def drive(
    policy: Any,
    driver: RobotDriver,
    safety: SafetyFilter,
    max_steps: int,
    realtime: bool = True,
    done: Callable[[], bool] | None = None,
) -> RunReport:
    """Read, act, filter, send at the driver's control rate; stop when the filter says so."""
    period = 1.0 / driver.control_rate_hz
    latencies: list[float] = []
    missed = 0
    stopped = False
    next_tick = time.perf_counter()
    steps = 0
    while steps < max_steps:
        steps += 1
        observation = driver.read()
        started = time.perf_counter()
        if observation is None:  # nothing heard from the robot yet
            command, stop = safety(np.zeros(safety.low.shape), float("inf"))
        else:
            action = policy.act(observation.values)
            command, stop = safety(action, driver.now() - observation.stamp)
        latencies.append(time.perf_counter() - started)
        if stop:
            driver.stop()
            stopped = True
            break
        driver.send(command)
        if done is not None and done():
            break
        if realtime:
            next_tick += period
            delay = next_tick - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                missed += 1
                next_tick = time.perf_counter()
    ms = np.array(latencies) * 1000.0
    return RunReport(
        steps=steps,
        latency_p50_ms=float(np.percentile(ms, 50)) if len(ms) else 0.0,
        latency_p99_ms=float(np.percentile(ms, 99)) if len(ms) else 0.0,
        missed_ticks=missed,
        stopped=stopped,
        interventions=safety.counts(),
    )


def run_on_robot(
    bundle_dir: str | Path, robot: tuple[str, int], steps: int, log: Path | None = None
) -> dict[str, Any]:
    """Drive hardware over UDP/JSON at the bundle's control rate, through the safety filter."""
    from dataclasses import asdict

    from workbench.export.drivers import UdpDriver

    policy = OnnxPolicy(bundle_dir)
    rate = float(policy.meta.get("control_rate_hz", 25.0))
    driver = UdpDriver(robot, control_rate_hz=rate)
    safety = SafetyFilter(default_limits(policy.meta), 1.0 / rate, log_path=log)
    try:
        return asdict(drive(policy, driver, safety, steps))
    finally:
        driver.close()


def run_in_sim(
    bundle_dir: str | Path, episodes: int = 10, seed: int = 10_000, difficulty: float | None = None
) -> dict[str, Any]:
    """Drive the bundle's scene in simulation through the safety filter; report success."""
    policy = OnnxPolicy(bundle_dir)
    meta = policy.meta
    driver = SimDriver(
        meta["scene"],
        meta["control_mode"],
        meta.get("difficulty", 0.0) if difficulty is None else difficulty,
    )
    safety = SafetyFilter(default_limits(meta), 1.0 / driver.control_rate_hz)
    successes, returns, latencies = [], [], []
    try:
        for i in range(episodes):
            driver.reset(seed + i)
            safety.reset(np.zeros(policy.act_dim))
            total = 0.0

            def finished() -> bool:
                nonlocal total
                total += float(driver.info["reference_reward"])
                return driver.done

            report = drive(policy, driver, safety, 100_000, realtime=False, done=finished)
            successes.append(float(driver.info["success"]))
            returns.append(total)
            latencies.append(report.latency_p50_ms)
    finally:
        driver.close()
    return {
        "success_rate": float(np.mean(successes)),
        "mean_return": float(np.mean(returns)),
        "latency_p50_ms": float(np.median(latencies)),
        "interventions": safety.counts(),
    }
