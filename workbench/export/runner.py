"""Run an exported policy bundle with numpy and onnxruntime only (no torch): read an
observation from a robot driver, run the ONNX policy, pass the command through the safety
filter, send it, at the driver's control rate.

Example:
    >>> policy = OnnxPolicy("bundle/")
    >>> driver = UdpDriver(("10.0.0.2", 9870), load_key("robot.key"), policy.obs_dim)
    >>> report = drive(policy, driver, SafetyFilter(limits, 0.04), 1000)

A ``monitor`` sees every tick (the observation, the policy's action, the command the filter let
through) and ends the run by returning True: the app's live view and its Stop button.
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from workbench.checksums import mismatched
from workbench.export.drivers import RobotDriver, SimDriver
from workbench.export.filming import FilmingSim
from workbench.export.safety import SafetyFilter, SafetyLimits
from workbench.export.takeover import RecordingSim, Takeover

BUNDLE_FORMAT = "workbench-policy-bundle"


class BundleError(RuntimeError):
    pass


# (observation or None before the robot is heard, policy action, filtered command) -> stop?
Monitor = Callable[[np.ndarray | None, np.ndarray, np.ndarray], bool]


def read_bundle(bundle_dir: str | Path) -> dict[str, Any]:
    """A bundle's ``bundle.json``, refused unless its files match their checksums."""
    root = Path(bundle_dir)
    meta_path = root / "bundle.json"
    if not meta_path.exists():
        raise BundleError(f"{root} is not a policy bundle: no bundle.json")
    try:
        meta = json.loads(meta_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{meta_path} is not JSON ({exc}); export the bundle again") from None
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{meta_path} is not a {BUNDLE_FORMAT}")
    expected = meta.get("sha256")  # absent in bundles from before
    bad = mismatched(root, expected) if isinstance(expected, dict) else []
    if bad:
        raise BundleError(f"{', '.join(str(root / n) for n in bad)} does not match the "
                          "checksum in bundle.json: the file changed after export")
    return meta


class OnnxPolicy:
    def __init__(self, bundle_dir: str | Path):
        root = Path(bundle_dir)
        meta_path = root / "bundle.json"
        self.meta: dict[str, Any] = read_bundle(root)
        try:  # ONNX is a protobuf graph of standard operators: nothing in it runs Python
            self.session = ort.InferenceSession(
                str(root / "policy.onnx"), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's own error types
            raise BundleError(f"{root / 'policy.onnx'} is not a readable ONNX model ({exc})"
                              ) from None
        try:
            self.obs_dim = int(self.meta["observation"]["dim"])
            self.act_dim = int(self.meta["action"]["dim"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{meta_path} lacks the observation and action sizes ({exc!r})"
                              ) from None
        width = self.session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != self.act_dim:
            raise BundleError(f"{root / 'policy.onnx'} outputs {width} values; bundle.json "
                              f"declares action.dim {self.act_dim}")

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
    halted: bool = False  # the monitor (a person pressing Stop) ended the run
    interventions: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)  # datagrams refused, by reason


def default_limits(meta: dict[str, Any]) -> SafetyLimits:
    """The bundle's safety block, or limits that only clip to the action range and stop on
    stale observations (tighten them per robot in bundle.json -> safety)."""
    rate = control_rate(meta)
    dim = int(meta["action"]["dim"])
    if "safety" in meta:
        limits = SafetyLimits.from_dict(meta["safety"])
    else:
        limits = SafetyLimits.uniform(dim, velocity=2.0 * rate, acceleration=4.0 * rate**2,
                                      watchdog_timeout=min(5.0 / rate, 2.0))
    if len(limits.low) != dim:
        raise BundleError(f"bundle.json: safety limits have {len(limits.low)} values; the "
                          f"action has {dim}")
    low = np.broadcast_to(np.asarray(meta["action"].get("low", -1.0), np.float64), (dim,))
    high = np.broadcast_to(np.asarray(meta["action"].get("high", 1.0), np.float64), (dim,))
    limits.within(low, high)
    return limits


def save_limits(bundle_dir: str | Path, limits: dict[str, Any]) -> SafetyLimits:
    """Check ``limits`` (the shape of bundle.json's safety block) against the bundle's action
    and write them into bundle.json; refused limits leave the file as it was."""
    meta_path = Path(bundle_dir) / "bundle.json"
    meta = read_bundle(bundle_dir)  # a readable, unchanged bundle, or BundleError
    try:
        checked = default_limits({**meta, "safety": limits})
    except ValueError as exc:
        raise BundleError(str(exc)) from None
    meta["safety"] = {k: list(v) if isinstance(v, tuple) else v
                      for k, v in asdict(checked).items()}
    partial = meta_path.with_suffix(".json.partial")
    partial.write_text(json.dumps(meta, indent=1))
    partial.replace(meta_path)  # atomic: a crash leaves the old file or the new, never half
    return checked


def measured_command(meta: dict[str, Any], observation: np.ndarray, dim: int) -> np.ndarray:
    """The command that holds the robot where its first observation says it is (absolute
    position commands; see ``WorkbenchEnv.contract``), zero elsewhere (delta commands)."""
    command = np.zeros(dim)
    block = (meta.get("hardware") or {}).get("measured")
    if block is None:
        return command
    try:
        actions, index = list(block["actions"]), list(block["observation_index"])
        offset = np.asarray(block["offset"], np.float64)
        scale = np.asarray(block["scale"], np.float64)
        valid = (len(actions) == len(index) == len(offset) == len(scale)
                 and all(type(a) is int and 0 <= a < dim for a in actions)
                 and all(type(i) is int and 0 <= i < len(observation) for i in index)
                 and np.isfinite(offset).all() and np.isfinite(scale).all() and (scale != 0).all())
    except (KeyError, TypeError, ValueError):
        valid = False
    if not valid:
        raise BundleError("bundle.json: hardware.measured must map actions to observation "
                          "indices with finite offsets and non-zero scales")
    measured = (np.asarray(observation, np.float64)[index] - offset) / scale
    if not np.isfinite(measured).all():
        raise BundleError("the robot's first observation is not finite; nothing was sent")
    command[actions] = measured
    return command


def control_rate(meta: dict[str, Any]) -> float:
    rate = meta.get("control_rate_hz", 25.0)
    if not isinstance(rate, int | float) or not math.isfinite(rate) or not 0 < rate <= 10_000:
        raise BundleError(f"bundle.json: control_rate_hz must be in (0, 10000], got {rate!r}")
    return float(rate)


def drive(
    policy: Any,
    driver: RobotDriver,
    safety: SafetyFilter,
    max_steps: int,
    realtime: bool = True,
    done: Callable[[], bool] | None = None,
    monitor: Monitor | None = None,
) -> RunReport:
    """Read, act, filter, send at the driver's control rate; stop when the filter says so.

    Any exception on the way (a policy that fails, a signal turned into an exception) sends
    the driver a stop before it propagates: a stop is the last command on every exit path."""
    try:
        return _drive(policy, driver, safety, max_steps, realtime, done, monitor)
    except BaseException:
        driver.stop()
        raise


def _drive(policy, driver, safety, max_steps, realtime, done, monitor) -> RunReport:
    period = 1.0 / driver.control_rate_hz
    latencies: list[float] = []
    missed = 0
    stopped = halted = False
    next_tick = time.perf_counter()
    steps = 0
    while steps < max_steps:
        steps += 1
        observation = driver.read()
        started = time.perf_counter()
        if observation is None:  # nothing heard from the robot yet
            action = np.zeros(safety.low.shape)
            command, stop = safety(action, float("inf"))
        else:
            action = np.asarray(policy.act(observation.values))
            if action.shape != safety.low.shape:
                raise BundleError(f"the policy returned {action.shape[-1] if action.ndim else 1}"
                                  f" values; the robot takes {len(safety.low)}")
            command, stop = safety(action, driver.now() - observation.stamp)
        latencies.append(time.perf_counter() - started)
        if stop:
            driver.stop()
            stopped = True
            break
        driver.send(command)
        if monitor is not None and monitor(None if observation is None else observation.values,
                                           action, command):
            driver.stop()
            halted = True
            break
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
        halted=halted,
        interventions=safety.counts(),
        dropped=dict(getattr(driver, "dropped", {})),
    )


def with_takeover(policy: Any, takeover: Takeover | None) -> Any:
    """``policy``, or ``policy`` with a person's device beside it (workbench/export/takeover)."""
    return policy if takeover is None else takeover.wrap(policy)


class Terminated(Exception):
    """SIGTERM arrived: unwind (sending the stop) as Ctrl+C does."""


def run_on_robot(
    bundle_dir: str | Path, robot: tuple[str, int], steps: int, log: Path | None = None,
    key: bytes | None = None, listen: tuple[str, int] = ("", 0), start_timeout: float = 5.0,
    monitor: Monitor | None = None, takeover: Takeover | None = None,
) -> dict[str, Any]:
    """Drive hardware over the authenticated UDP link at the bundle's control rate, through
    the safety filter. Nothing moves before the first valid observation; a stop is sent on
    every way out (done, watchdog, Ctrl+C, SIGTERM, an error)."""
    from workbench.export.drivers import UdpDriver
    from workbench.export.link import load_key

    policy = with_takeover(OnnxPolicy(bundle_dir), takeover)
    rate = control_rate(policy.meta)
    safety = SafetyFilter(default_limits(policy.meta), 1.0 / rate, log_path=log)
    driver = UdpDriver(robot, key if key is not None else load_key(), policy.obs_dim, listen,
                       control_rate_hz=rate)

    def terminate(signum, frame):
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        first = driver.start(start_timeout)
        # Start the filter's ramps from where the robot is, not from zero.
        safety.reset(np.clip(measured_command(policy.meta, first.values, policy.act_dim),
                             safety.low, safety.high))
        return {**asdict(drive(policy, driver, safety, steps, monitor=monitor)),
                "human_ticks": takeover.human_ticks if takeover else 0}
    finally:
        driver.stop()  # also after a normal end: the robot holds, it does not coast
        driver.close()
        signal.signal(signal.SIGTERM, previous)
        if takeover is not None:
            takeover.close()


def run_on_lerobot(
    bundle_dir: str | Path, robot_type: str, port: str, episodes: int = 1, seed: int = 10_000,
    robot_id: str | None = None, calibration_dir: str | None = None, log: Path | None = None,
    monitor: Monitor | None = None, takeover: Takeover | None = None,
) -> dict[str, Any]:
    """Drive a LeRobot robot (``so101_follower``, ...) through LeRobot's ``Robot`` interface
    (workbench/export/lerobot_driver.py)."""
    from workbench.export.lerobot_driver import LeRobotDriver, make_lerobot_robot

    policy = OnnxPolicy(bundle_dir)
    robot = make_lerobot_robot(robot_type, port, robot_id, calibration_dir)
    return run_twin(policy, LeRobotDriver(policy.meta, robot, seed=seed), episodes, seed, log,
                    monitor, takeover)


def run_on_ros2(
    bundle_dir: str | Path, namespace: str = "", episodes: int = 1, seed: int = 10_000,
    log: Path | None = None, timeout: float = 5.0, monitor: Monitor | None = None,
    takeover: Takeover | None = None,
) -> dict[str, Any]:
    """Drive a robot over ROS 2 joint topics (workbench/export/ros2_driver.py)."""
    from workbench.export.ros2_driver import Ros2Driver

    policy = OnnxPolicy(bundle_dir)
    driver = Ros2Driver(policy.meta, namespace, seed=seed, timeout=timeout)
    return run_twin(policy, driver, episodes, seed, log, monitor, takeover)


def run_twin(policy: OnnxPolicy, driver: Any, episodes: int, seed: int,
             log: Path | None, monitor: Monitor | None = None,
             takeover: Takeover | None = None) -> dict[str, Any]:
    """Episodes in real time through the safety filter on a joint-level robot, the bundle's
    scene as its twin (workbench/export/twin.py): each from the twin's start pose, of the
    scene's length, success judged in the twin."""
    policy = with_takeover(policy, takeover)
    safety = SafetyFilter(default_limits(policy.meta), 1.0 / driver.control_rate_hz, log_path=log)
    successes, reports = [], []
    try:
        first = driver.start()
        for i in range(episodes):
            if takeover is not None and i:
                takeover.new_episode()
            observation = first if i == 0 else driver.reset(seed + i)
            safety.reset(np.clip(measured_command(policy.meta, observation.values,
                                                  policy.act_dim), safety.low, safety.high))
            report = drive(policy, driver, safety, 100_000, done=lambda: driver.done,
                           monitor=monitor)
            reports.append(report)
            if report.halted:  # a person stopped it: the episode has no verdict
                break
            successes.append(float(driver.info.get("success", False)))
            if report.stopped:
                break
    finally:
        driver.stop()
        driver.close()
        if takeover is not None:
            takeover.close()
    return {
        "success_rate": float(np.mean(successes)) if successes else 0.0,
        "episodes": len(successes),
        "episode_success": [bool(s) for s in successes],  # which seeds failed, to replay
        "latency_p50_ms": float(np.median([r.latency_p50_ms for r in reports])) if reports
        else 0.0,
        "missed_ticks": int(sum(r.missed_ticks for r in reports)),
        "stopped": any(r.stopped for r in reports),
        "halted": any(r.halted for r in reports),
        "interventions": safety.counts(),
        "dropped": dict(getattr(driver, "dropped", {})),
        "human_ticks": takeover.human_ticks if takeover else 0,
    }


def run_in_sim(
    bundle_dir: str | Path, episodes: int = 10, seed: int = 10_000, difficulty: float | None = None,
    monitor: Monitor | None = None, realtime: bool = False, takeover: Takeover | None = None,
    record: Any = None, video: str | Path | None = None, camera: str = "",
) -> dict[str, Any]:
    """Drive the bundle's scene in simulation through the safety filter; report success.
    ``realtime`` paces it at the control rate, as a robot would run (to watch it live).
    ``record`` (a Workspace): every episode is recorded there, with the ticks a person took
    over marked (see :class:`~workbench.export.takeover.RecordingSim`). ``video``: every
    episode filmed into that MP4 from ``camera`` (default: the app's view of the scene; see
    :class:`~workbench.export.filming.FilmingSim`)."""
    policy = with_takeover(OnnxPolicy(bundle_dir), takeover)
    meta = policy.meta
    driver: SimDriver | RecordingSim | FilmingSim = SimDriver(
        meta["scene"],
        meta["control_mode"],
        meta.get("difficulty", 0.0) if difficulty is None else difficulty,
        goal=meta.get("goal") if isinstance(meta.get("goal"), str) else None,
        robot=meta.get("robot") if isinstance(meta.get("robot"), str) else None,
    )
    recording = None
    if record is not None:
        driver = recording = RecordingSim(driver, record, takeover)
    filming = None
    if video is not None:
        try:
            driver = filming = FilmingSim(driver, video, camera)
        except BaseException:
            driver.close()
            raise
    safety = SafetyFilter(default_limits(meta), 1.0 / driver.control_rate_hz)
    successes, returns, latencies = [], [], []
    try:
        for i in range(episodes):
            if takeover is not None and i:
                takeover.new_episode()
            driver.reset(seed + i)
            safety.reset(np.clip(measured_command(meta, driver.read().values, policy.act_dim),
                                 safety.low, safety.high))
            total = 0.0

            def finished() -> bool:
                nonlocal total
                total += float(driver.info["reference_reward"])
                return driver.done

            report = drive(policy, driver, safety, 100_000, realtime=realtime, done=finished,
                           monitor=monitor)
            if report.halted:
                break
            successes.append(float(driver.info["success"]))
            returns.append(total)
            latencies.append(report.latency_p50_ms)
    finally:
        driver.close()
        if takeover is not None:
            takeover.close()
    return {
        "success_rate": float(np.mean(successes)) if successes else 0.0,
        "episodes": len(successes),
        "episode_success": [bool(s) for s in successes],
        "mean_return": float(np.mean(returns)) if returns else 0.0,
        "latency_p50_ms": float(np.median(latencies)) if latencies else 0.0,
        "halted": len(successes) < episodes,
        "interventions": safety.counts(),
        "human_ticks": takeover.human_ticks if takeover else 0,
        **({"recorded_episodes": recording.episode_ids} if recording is not None else {}),
        **({"video": str(video), "video_frames": filming.film.frames} if filming is not None
           else {}),
    }
