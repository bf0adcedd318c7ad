"""env.step rate of workbench scenes against a raw ``mj_step`` loop of the same compiled model.

Both loops run in this one process, interleaved over several rounds, so the machine's noise
cancels in the ratio. The raw loop replays, from the same initial state, the controls the env
wrote at each control step (``n_substeps`` physics steps folded into one
``mj_step(..., nstep)``), so both do identical physics; the env loop adds the controller
(differential IK for the arm), observations, ground-truth terms and the gymnasium wrappers that
``gym.make`` adds. A scene that is one of dm_control's own tasks (``scenes.control``) is also
timed against the peer it wraps: the suite env's own ``step`` on the same actions (its
observation dict and reward, as the scene computes them).

Run: python benchmarks/env_step.py [--scenes Push Walk] [--steps 2000] [--rounds 5]
     python benchmarks/env_step.py --scenes CartpoleSwingup ReacherHard FingerSpin
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import mujoco
import numpy as np

import workbench  # noqa: F401  (registers the envs)


def raw_rate(model, data, nsub: int, initial: np.ndarray, controls: np.ndarray) -> float:
    """Replay the env's own controls from its initial state: the very same physics work."""
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    mujoco.mj_setState(model, data, initial, spec)
    start = time.perf_counter()
    for ctrl in controls:
        data.ctrl[:] = ctrl
        mujoco.mj_step(model, data, nsub)
    return len(controls) / (time.perf_counter() - start)


def env_rate(env: gym.Env, actions: np.ndarray, seed: int) -> tuple[float, np.ndarray, np.ndarray]:
    env.reset(seed=seed)
    physics = env.unwrapped.physics
    initial = physics.snapshot()
    controls = np.zeros((len(actions), physics.model.nu))
    length = min(len(actions), getattr(env.spec, "max_episode_steps", None) or len(actions))
    actions = actions[:length]
    start = time.perf_counter()
    for i, action in enumerate(actions):
        env.step(action)
        controls[i] = physics.data.ctrl  # bookkeeping inside the timed loop costs ~1 us
    rate = len(actions) / (time.perf_counter() - start)
    return rate, initial, controls


def suite_rate(task, actions: np.ndarray, seed: int) -> float:
    """dm_control's own env of the task a control scene wraps, on the same actions."""
    from dm_control import suite

    env = suite.load(task.domain, task.suite_task, task_kwargs={"random": seed})
    env.reset()
    start = time.perf_counter()
    for action in actions:
        env.step(action)
    return len(actions) / (time.perf_counter() - start)


class _GymnasiumMujoco:
    """Adapter so gymnasium's own MuJoCo envs run through the same two loops."""

    def __init__(self, env):
        self.env = env
        inner = env.unwrapped
        self.model, self.data, self.n_substeps = inner.model, inner.data, inner.frame_skip

    def snapshot(self) -> np.ndarray:
        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        state = np.empty(mujoco.mj_stateSize(self.model, spec))
        mujoco.mj_getState(self.model, self.data, state, spec)
        return state


def bench(scene: str, steps: int, rounds: int) -> dict[str, float]:
    if "/" in scene or scene.endswith("-v5"):  # a gymnasium id, for reference
        env = gym.make(scene)
        adapter = _GymnasiumMujoco(env)
        model, nsub, length = adapter.model, adapter.n_substeps, 1000
        env.unwrapped.physics = adapter  # what env_rate reads
        env.unwrapped.physics.model = model
    else:
        env = gym.make(f"workbench/{scene}-v0")
        inner = env.unwrapped
        model, nsub, length = inner.physics.model, inner.n_substeps, inner.task.episode_steps
    data = mujoco.MjData(model)  # same compiled model, separate state
    rng = np.random.default_rng(0)
    # One episode's worth of random actions per round, so no reset falls inside the timing.
    raws, envs, suites = [], [], []
    task = getattr(env.unwrapped, "task", None)
    for round_ in range(rounds):
        actions = rng.uniform(-1, 1, size=(length, *env.action_space.shape)).astype(np.float32)
        for _ in range(max(1, steps // length)):
            rate, initial, controls = env_rate(env, actions, seed=round_)
            envs.append(rate)
            raws.append(raw_rate(model, data, nsub, initial, controls))
            if hasattr(task, "suite_task"):
                suites.append(suite_rate(task, actions, seed=round_))
    raw, wrapped = float(np.median(raws)), float(np.median(envs))
    result = {
        "scene": scene,
        "substeps": nsub,
        "raw_steps_per_s": round(raw),
        "env_steps_per_s": round(wrapped),
        "ratio": round(wrapped / raw, 3),
    }
    if suites:
        peer = float(np.median(suites))
        result |= {"suite_steps_per_s": round(peer), "ratio_to_suite": round(wrapped / peer, 3)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=["Push", "Walk", "HalfCheetah-v5"],
                        help="workbench scenes, or gymnasium MuJoCo ids for reference")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for scene in args.scenes:
        print(json.dumps(bench(scene, args.steps, args.rounds)))


if __name__ == "__main__":
    main()
