"""Export a trained policy as a bundle: ``policy.onnx``, ``policy.pt`` (TorchScript) and
``bundle.json`` (observation and action contracts, control rate, robot, versions, parity).

Observation normalisation and action clipping live inside the exported graph, so a consumer
feeds raw observations and gets commands. Export fails when ONNX or TorchScript disagree with
the torch policy by more than ``tolerance`` on the given observations.
"""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from workbench.checksums import sha256
from workbench.rl.policy import GaussianPolicy

BUNDLE_FORMAT = "workbench-policy-bundle"
BUNDLE_VERSION = 1


class ExportParityError(RuntimeError):
    pass


def _versions() -> dict[str, str]:
    import mujoco
    import onnx

    from workbench import __version__

    return {
        "workbench": __version__,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "mujoco": mujoco.__version__,
        "python": platform.python_version(),
    }


def _default_safety(act_dim: int, rate: float) -> dict[str, Any]:
    """Limits the runner enforces unless edited: the action range, no tighter rate limits than
    a full-range swing per tick, and a watchdog of five control periods. Tighten per robot."""
    return {
        "low": [-1.0] * act_dim,
        "high": [1.0] * act_dim,
        "max_velocity": [2.0 * rate] * act_dim,
        "max_acceleration": [4.0 * rate**2] * act_dim,
        "watchdog_timeout": min(5.0 / rate, 2.0),
    }


def export_bundle(
    policy: GaussianPolicy,
    out_dir: str | Path,
    contract: dict[str, Any],
    sample_observations: np.ndarray,
    tolerance: float = 1e-5,
    training: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the bundle and return its ``bundle.json`` content.

    ``contract`` carries ``scene``, ``env_id``, ``robot``, ``control_mode``, ``control_rate_hz``,
    ``observation_features`` and ``action_labels`` (see
    :meth:`workbench.envs.WorkbenchEnv.contract`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    policy = policy.to("cpu").eval()
    obs = np.asarray(sample_observations, dtype=np.float32)
    if obs.ndim != 2 or obs.shape[1] != policy.obs_dim:
        raise ValueError(f"sample observations must be (N, {policy.obs_dim}), got {obs.shape}")
    example = torch.as_tensor(obs[:1])

    onnx_path = out / "policy.onnx"
    torch.onnx.export(
        policy,
        (example,),
        str(onnx_path),
        input_names=["observation"],
        output_names=["action"],
        dynamic_axes={"observation": {0: "batch"}, "action": {0: "batch"}},
        opset_version=17,
        dynamo=False,  # the TorchScript-based exporter: small graph, no onnxscript rewrite
    )
    scripted = torch.jit.trace(policy, example)
    scripted.save(str(out / "policy.pt"))

    with torch.no_grad():
        reference = policy(torch.as_tensor(obs)).numpy()
        traced = scripted(torch.as_tensor(obs)).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_actions = session.run(["action"], {"observation": obs})[0]
    parity = {
        "observations": len(obs),
        "onnx_max_abs_diff": float(np.abs(onnx_actions - reference).max()),
        "torchscript_max_abs_diff": float(np.abs(traced - reference).max()),
        "tolerance": tolerance,
    }
    parity["passed"] = max(parity["onnx_max_abs_diff"], parity["torchscript_max_abs_diff"]) <= (
        tolerance
    )
    bundle = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        **contract,
        "observation": {
            "name": "observation",
            "dim": policy.obs_dim,
            "dtype": "float32",
            "features": contract.get("observation_features", {}),
            "normalisation": {  # already applied inside the graph; recorded for consumers
                "mean": policy.obs_mean.tolist(),
                "var": policy.obs_var.tolist(),
                "clip": policy.obs_clip,
                "inside_graph": True,
            },
        },
        "action": {
            "name": "action",
            "dim": policy.act_dim,
            "labels": list(contract.get("action_labels", [])),
            "low": -1.0,
            "high": 1.0,
            "meaning": "normalised controller command; see robot.hardware_mapping",
        },
        "safety": _default_safety(policy.act_dim, float(contract.get("control_rate_hz", 25.0))),
        "parity": parity,
        "sha256": {name: sha256(out / name) for name in ("policy.onnx", "policy.pt")},
        "versions": _versions(),
        "training": training or {},
    }
    (out / "bundle.json").write_text(json.dumps(bundle, indent=1))
    np.save(out / "parity_observations.npy", obs)
    if not parity["passed"]:
        failed = out.with_name(out.name + ".failed")
        shutil.rmtree(failed, ignore_errors=True)
        out.rename(failed)
        raise ExportParityError(
            f"exported policy disagrees with torch by {parity['onnx_max_abs_diff']:.2e} (ONNX) / "
            f"{parity['torchscript_max_abs_diff']:.2e} (TorchScript), above {tolerance:.0e}; "
            f"the bundle was kept for inspection at {failed}"
        )
    return bundle
