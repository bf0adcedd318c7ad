"""Export a Workspace run's policy: record observations with it, export, check parity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from workbench.envs.env import make_env
from workbench.export.bundle import export_bundle
from workbench.rl.policy import load_policy


def export_run(
    run_dir: str | Path, out_dir: str | Path, episodes: int = 2, tolerance: float = 1e-5
) -> dict[str, Any]:
    """Roll the run's policy out for ``episodes`` to record parity observations, then export."""
    run_dir = Path(run_dir)
    policy, header = load_policy(run_dir / "policy")
    contract = header["contract"]
    env = make_env(
        contract["scene"], control_mode=contract["control_mode"],
        difficulty=contract.get("difficulty", 0.0), robot=contract.get("robot"),
    )
    # Policies saved before a hardware field existed (joint limits) get it from the robot.
    contract = {**contract, "hardware": {**env.contract()["hardware"],
                                         **contract.get("hardware", {})}}
    observations = []
    for i in range(episodes):
        obs, _ = env.reset(seed=20_000 + i)
        done = False
        while not done:
            observations.append(obs)
            obs, _, terminated, truncated, _ = env.step(policy.act(obs))
            done = terminated or truncated
    env.close()
    config_path = run_dir / "config.json"
    training = json.loads(config_path.read_text()) if config_path.exists() else {}
    training["reward"] = header.get("reward")
    return export_bundle(policy, out_dir, contract, np.stack(observations), tolerance, training)
