"""The whole loop on Push, every stage real: scripted demos -> progress reward -> PPO on the
learned reward -> ONNX export with parity -> the torch-free runner in simulation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from tests.margins import TORCH_THREADS, at_least, seed
from workbench import config as cfg
from workbench.envs import make_env
from workbench.export.workflow import export_run
from workbench.rewards.metrics import progress_spearman
from workbench.rewards.progress import ProgressConfig
from workbench.rewards.workflow import fit_progress_in_workspace
from workbench.rl.policy import load_policy
from workbench.rl.ppo import evaluate_policy
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.teleop.recorder import random_policy, record_policy_episodes, scripted_policy

EVAL_EPISODES = 30


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    from workbench.data import Workspace

    ws = Workspace.open(tmp_path_factory.mktemp("loop") / "ws", create=True)
    env = make_env("Push")
    record_policy_episodes(env, ws, scripted_policy(env, 0), 12, "scripted", seed=seed(0))
    record_policy_episodes(env, ws, random_policy(env, 1), 10, "random", seed=seed(100))
    record_policy_episodes(env, ws, scripted_policy(env, 5, perturbed=True), 10, "perturbed",
                           seed=seed(300))
    model, report = fit_progress_in_workspace(ws, "Push", ProgressConfig())
    config = cfg.override(RunConfig(torch_threads=TORCH_THREADS), [
        "ppo.total_steps=81920", f"ppo.seed={seed(0)}", f"eval_episodes={EVAL_EPISODES}"])
    result = train_run(ws, config)
    yield ws, env, model, report, result
    ws.close()


@pytest.mark.rl_outcome
def test_learned_progress_correlates_with_ground_truth_on_held_out_episodes(loop, tmp_path):
    """How well a reward fitted on these takes ranks fresh demos depends on which takes they
    were: 0.73 to 0.87 over six seed shifts and thread counts, so the threshold is 0.5. The
    workflow's own split holds out only 2 of the 12 demos (0.29 to 0.97): reported, not
    asserted."""
    ws, env, model, report, _ = loop
    assert -1.0 <= report["spearman_progress"] <= 1.0 and report["held_out"] == 2
    from workbench.data import Workspace

    with Workspace.open(tmp_path / "held", create=True) as held_ws:  # fresh seeds, 20 episodes
        ids = record_policy_episodes(env, held_ws, scripted_policy(env, 9), 20, "scripted",
                                     seed=50_000)
        spearman = progress_spearman(model, [held_ws.load_episode(i) for i in ids])
    at_least(("loop: Spearman of the learned progress on 20 fresh demos", spearman, 0.5))


@pytest.mark.rl_outcome
def test_policy_trained_on_the_learned_reward_beats_random(loop):
    """On the scene's ground truth, over the same evaluation seeds. Where one seed of PPO ends
    differs between processors (0.17 to 0.53 true success seen), so the thresholds sit well
    below the worst of several seeds and thread counts (benchmarks/rl_test_margins.py)."""
    ws, env, _, _, result = loop
    random = evaluate_policy(_RandomPolicy(env), env, EVAL_EPISODES)
    at_least(("loop: true success, trained minus random",
              result["success_rate"] - random["success_rate"], 1 / EVAL_EPISODES),
             ("loop: reference return, trained minus random",
              result["mean_return"] - random["mean_return"], 0.0))
    (run,) = ws.runs("Push")
    assert run["status"] == "finished" and run["metrics"]["success_rate"] == result["success_rate"]
    log = [json.loads(line) for line in open(f"{result['path']}/metrics.jsonl")]
    assert {"charts/learned_return", "charts/success_rate"} <= set(log[-1])
    # The reward-hacking guard checked the policy's mean action on its own episodes.
    assert any("monitor/eval_success" in line for line in log)


def test_onnx_export_matches_torch_and_runs_without_torch(loop, tmp_path):
    ws, env, _, _, result = loop
    bundle = export_run(result["path"], tmp_path / "bundle")
    assert bundle["parity"]["passed"] and bundle["parity"]["onnx_max_abs_diff"] <= 1e-5
    assert bundle["observation"]["features"] == env.features
    assert len(bundle["observation"]["normalisation"]["mean"]) == env.state_dim
    assert bundle["safety"]["watchdog_timeout"] > 0 and bundle["versions"]["onnxruntime"]
    assert (tmp_path / "bundle" / "policy.pt").exists()
    assert bundle["action"]["labels"] == ["dx", "dy"]

    # Independently: ONNX vs torch on the recorded observations saved with the bundle.
    policy, _ = load_policy(f"{result['path']}/policy")
    observations = np.load(tmp_path / "bundle" / "parity_observations.npy")
    session = ort.InferenceSession(str(tmp_path / "bundle" / "policy.onnx"))
    onnx_actions = session.run(["action"], {"observation": observations})[0]
    np.testing.assert_allclose(onnx_actions, policy.act(observations), atol=1e-5)

    # The runner in a process where importing torch fails: the path a robot computer takes.
    code = (
        "import sys, json; sys.modules['torch'] = None\n"
        "from workbench.export.runner import run_in_sim\n"
        f"print(json.dumps(run_in_sim({str(tmp_path / 'bundle')!r}, episodes={EVAL_EPISODES})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    ran = json.loads(out.stdout.strip().splitlines()[-1])
    assert ran["success_rate"] == pytest.approx(result["success_rate"], abs=0.2)


class _RandomPolicy:
    def __init__(self, env):
        self.space = env.action_space
        self.space.seed(0)

    def act(self, obs):
        return self.space.sample()


def test_runner_in_a_fresh_venv_without_torch_matches_the_torch_policy(loop, tmp_path):
    """numpy, onnxruntime, mujoco and gymnasium only: what a robot computer would install."""
    ws, env, _, _, result = loop
    bundle = tmp_path / "bundle"
    export_run(result["path"], bundle)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    root = Path(__file__).resolve().parents[1]
    install = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*install, "numpy", "onnxruntime", "mujoco==3.17.0", "gymnasium"],
                   check=True, timeout=600)
    subprocess.run([*install, "--no-deps", str(root)], check=True, timeout=600, cwd=tmp_path)
    check = [python, "-c", "import importlib.util as u; assert u.find_spec('torch') is None"]
    subprocess.run(check, check=True, timeout=60)
    workbench_cli = str(venv / "bin" / "workbench")  # the very command a robot computer runs
    out = subprocess.run([workbench_cli, "run", str(bundle), "--episodes", str(EVAL_EPISODES)],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    ran = json.loads(out.stdout)
    policy, _ = load_policy(f"{result['path']}/policy")
    torch_rate = evaluate_policy(policy, env, EVAL_EPISODES)["success_rate"]  # same seeds
    assert ran["success_rate"] == pytest.approx(torch_rate, abs=1 / EVAL_EPISODES + 1e-9)
