"""Fixtures of the export tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A real bundle of an untrained policy for the Reach scene (torch only to write it)."""
    import torch

    from workbench.envs.env import make_env
    from workbench.export.bundle import export_bundle
    from workbench.rl.policy import GaussianPolicy

    torch.manual_seed(0)
    env = make_env("Reach")
    obs, _ = env.reset(seed=0)
    contract = env.contract()
    env.close()
    out = tmp_path_factory.mktemp("live") / "bundle"
    policy = GaussianPolicy(len(obs), len(contract["action_labels"]))
    export_bundle(policy, out, contract, np.stack([obs] * 4).astype(np.float32))
    return out
