"""Run an exported policy bundle with numpy and onnxruntime only (no torch).

Example:
    >>> policy = OnnxPolicy("bundle/")
    >>> action = policy.act(observation)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

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


def run_in_sim(
    bundle_dir: str | Path, episodes: int = 10, seed: int = 10_000, difficulty: float | None = None
) -> dict[str, float]:
    """Drive the bundle's scene in simulation (the MuJoCo driver) and report success."""
    from workbench.envs.env import make_env

    policy = OnnxPolicy(bundle_dir)
    meta = policy.meta
    env = make_env(
        meta["scene"],
        control_mode=meta["control_mode"],
        difficulty=meta.get("difficulty", 0.0) if difficulty is None else difficulty,
    )
    successes, returns = [], []
    try:
        for i in range(episodes):
            obs, _ = env.reset(seed=seed + i)
            done, total, info = False, 0.0, {}
            while not done:
                obs, reward, terminated, truncated, info = env.step(policy.act(obs))
                total += float(reward)
                done = terminated or truncated
            successes.append(float(info["success"]))
            returns.append(total)
    finally:
        env.close()
    return {"success_rate": float(np.mean(successes)), "mean_return": float(np.mean(returns))}
