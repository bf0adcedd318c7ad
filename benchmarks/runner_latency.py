"""Runner latency per control step: observation in -> safe command out (ONNX policy + safety
filter), p50 and p99, for a bundle exported from a freshly initialised Push policy.

Compared in the same process with the torch policy's own forward pass (what running the policy
without exporting it would cost), so the ratio shows what leaving torch behind buys.

Run: python benchmarks/runner_latency.py [--steps 5000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch

import workbench  # noqa: F401
from workbench.envs import make_env
from workbench.export.bundle import export_bundle
from workbench.export.runner import OnnxPolicy, default_limits
from workbench.export.safety import SafetyFilter
from workbench.rl.policy import GaussianPolicy


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    env = make_env("Push")
    observations = []
    obs, _ = env.reset(seed=0)
    for _ in range(200):
        observations.append(obs)
        obs, *_ = env.step(env.action_space.sample())
    observations = np.stack(observations)
    policy = GaussianPolicy(env.state_dim, env.action_space.shape[0])
    policy.set_obs_stats(observations.mean(0), observations.var(0) + 1e-3)
    with tempfile.TemporaryDirectory() as folder:
        export_bundle(policy, folder, env.contract(), observations)
        runner = OnnxPolicy(folder)
        safety = SafetyFilter(default_limits(runner.meta), env.control_dt)
        onnx_times, torch_times = [], []
        for i in range(args.steps):
            o = observations[i % len(observations)]
            start = time.perf_counter()
            safety(runner.act(o))
            onnx_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            with torch.no_grad():
                policy(torch.as_tensor(o)[None]).numpy()
            torch_times.append(time.perf_counter() - start)
    onnx_p50, onnx_p99 = percentiles(onnx_times)
    torch_p50, torch_p99 = percentiles(torch_times)
    print(json.dumps({
        "runner_p50_ms": round(onnx_p50, 4), "runner_p99_ms": round(onnx_p99, 4),
        "torch_forward_p50_ms": round(torch_p50, 4), "torch_forward_p99_ms": round(torch_p99, 4),
        "p50_speedup": round(torch_p50 / onnx_p50, 2),
        "control_period_ms": round(env.control_dt * 1000, 1),
    }))


if __name__ == "__main__":
    main()
