"""SAC as a run like PPO's (``workbench train --algorithm sac``): the actor saved as the policy
the preview, evaluation and bundle export already run, the run's own reward on one env, and a
person's take-over steps from the workspace half of every batch."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.config import ConfigError
from workbench.data import Workspace
from workbench.envs.env import make_env
from workbench.envs.goal import make_goal_env
from workbench.export.runner import run_in_sim
from workbench.export.workflow import export_run
from workbench.rl.policy import NumpyActor, load_policy
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.rl.run_inputs import run_takeovers
from workbench.rl.sac import SACAgent, SACConfig
from workbench.rl.takeover import run_with_takeover, scripted_takeover

TINY = SACConfig(her=False, total_steps=400, batch_size=32, learning_starts=100,
                 hidden=(32, 32), log_every=100)


def test_the_sac_actor_becomes_the_policy_that_is_saved_and_exported():
    torch.manual_seed(0)
    agent = SACAgent(obs_dim=7, goal_dim=0, act_dim=3, hidden=(16, 16))
    rng = np.random.default_rng(0)
    agent.obs_rms.update(rng.normal(2.0, 3.0, (500, 7)))
    obs = rng.normal(2.0, 9.0, (50, 7)).astype(np.float32)  # some beyond the +-5 clip
    expected = np.stack([agent.act(o, np.zeros(0, np.float32)) for o in obs])
    policy = agent.as_policy()
    assert policy.squash and policy.obs_clip == 5.0
    np.testing.assert_allclose(policy.act(obs), expected, atol=1e-5)
    np.testing.assert_allclose(NumpyActor(policy.actor_snapshot()).act(obs), expected, atol=1e-5)
    with pytest.raises(ValueError, match="goal-conditioned"):
        SACAgent(5, 3, 2, (8,)).as_policy()


def test_a_goal_conditioned_actor_becomes_a_policy_over_the_flat_state():
    """HER's actor reads (observation without the goal, desired goal); the saved policy reads
    the scene's flat state, with the same numbers in the same places."""
    env = make_goal_env("Reach", difficulty=1.0)
    rng = np.random.default_rng(1)
    states, goal_obs = [], []
    for seed in range(40):
        obs, _ = env.reset(seed=seed)
        for _ in range(int(rng.integers(0, 5))):
            obs, *_ = env.step(rng.uniform(-1, 1, 4))
        states.append(env.base.state_vector())
        goal_obs.append(obs)
    torch.manual_seed(0)
    agent = SACAgent(len(goal_obs[0]["observation"]), 3, 4, (16, 16))
    agent.obs_rms.update(np.stack([o["observation"] for o in goal_obs]))
    agent.goal_rms.update(np.stack([o["desired_goal"] for o in goal_obs]))
    expected = np.stack([agent.act(o["observation"], o["desired_goal"]) for o in goal_obs])
    policy = agent.as_policy(env.flat_inputs, env.flat_dim)
    assert policy.obs_dim == len(states[0])
    np.testing.assert_allclose(policy.act(np.stack(states)), expected, atol=1e-5)


def test_a_sac_run_with_hindsight_relabelling_saves_a_flat_policy(tmp_path):
    config = RunConfig(scene="Reach", reward="sparse", algorithm="sac", eval_episodes=2,
                       sac=SACConfig(her=True, total_steps=400, batch_size=32,
                                     learning_starts=100, hidden=(32, 32), log_every=100))
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        result = train_run(ws, config)
        assert ws.runs()[-1]["status"] == "finished"
    policy, _ = load_policy(Path(result["path"]) / "policy")
    assert policy.obs_dim == len(make_env("Reach").reset(seed=0)[0])
    with pytest.raises(ConfigError, match="sac.her: hindsight relabelling"):
        RunConfig(scene="Reach", reward="reference", algorithm="sac", sac=SACConfig(her=True))


def test_a_sac_run_trains_saves_and_exports_like_a_ppo_run(tmp_path):
    config = RunConfig(scene="Reach", reward="reference", algorithm="sac", sac=TINY,
                       eval_episodes=2, hacking_guard=False)
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        result = train_run(ws, config)
        run = ws.runs()[-1]
        assert run["status"] == "finished" and run["name"] == "sac-Reach"
    run_dir = Path(result["path"])
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").open()
             if "step" in line and "event" not in line]
    assert steps == [100, 200, 300, 400]
    policy, header = load_policy(run_dir / "policy")
    assert header["squash"] and header["activation"] == "relu"
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["algorithm"] == "sac" and saved["sac"]["total_steps"] == 400
    # The same bundle format, parity-checked, runs in the torch-free runner.
    bundle = export_run(run_dir, tmp_path / "bundle", episodes=1)
    assert bundle["parity"]["onnx_max_abs_diff"] < 1e-4
    ran = run_in_sim(tmp_path / "bundle", episodes=2)
    assert ran["episodes"] == 2 and not ran["halted"]


def _record_takeovers(ws: Workspace, episodes: int) -> list[int]:
    env = make_goal_env("Reach", difficulty=0.0)
    report = run_with_takeover(env, lambda obs: np.zeros(4, np.float32),
                               scripted_takeover(env, start=5, steps=10, seed=0),
                               episodes=episodes, seed=3, workspace=ws)
    return report.episode_ids


@pytest.mark.parametrize("reward", ["reference", "sparse"])
def test_take_over_steps_are_read_from_the_workspace_with_the_runs_reward(tmp_path, reward):
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        ids = _record_takeovers(ws, 2)
        config = RunConfig(scene="Reach", reward=reward, algorithm="sac", takeovers=True)
        env = make_env("Reach")
        found = run_takeovers(ws, config, env, None)
        assert len(found) == 20  # steps 5-14 of both episodes
        first = ws.load_episode(ids[0])
        np.testing.assert_array_equal(found.obs[0], first["state"][4])  # the state before step 5
        np.testing.assert_array_equal(found.next_obs[0], first["state"][5])
        np.testing.assert_array_equal(found.action[0], first["action"][5])
        column = first["reward"] if reward == "reference" else first["success"]
        assert found.reward[:10] == pytest.approx(column[5:15].astype(float).tolist())
        assert not any(found.terminated)  # Reach's episodes end at the time limit


def test_a_sac_run_samples_the_workspaces_take_overs(tmp_path):
    config = RunConfig(scene="Reach", reward="sparse", algorithm="sac", takeovers=True,
                       sac=TINY, eval_episodes=1, hacking_guard=False)
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        _record_takeovers(ws, 1)
        result = train_run(ws, config)
    assert result["takeover_steps"] == 10


def test_take_overs_are_rewarded_by_a_learned_reward_as_its_run_would_be(tmp_path):
    class Scorer:  # a state reward: the first feature
        cameras = ()

        def check_features(self, features):
            pass

        def score(self, states):
            return np.asarray(states, np.float64)[:, 0]

    with Workspace.open(tmp_path / "ws", create=True) as ws:
        ids = _record_takeovers(ws, 1)
        config = RunConfig(scene="Reach", reward="reference", algorithm="sac", takeovers=True,
                           transform="delta", sac=SACConfig(her=False, gamma=0.9))
        found = run_takeovers(ws, config, make_env("Reach"), Scorer())
        states = ws.load_episode(ids[0])["state"]
    expected = 0.9 * states[5:15, 0] - states[4:14, 0]  # gamma phi(s') - phi(s)
    assert found.reward == pytest.approx(expected.tolist(), abs=1e-6)


def test_take_overs_asked_for_but_never_recorded_are_a_one_line_error(tmp_path):
    config = RunConfig(scene="Reach", reward="sparse", algorithm="sac", takeovers=True,
                       sac=TINY)
    with Workspace.open(tmp_path / "ws", create=True) as ws, pytest.raises(
            ConfigError, match="--takeover gamepad --record"):
        train_run(ws, config)
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.runs() == []  # refused before a run folder or row was made


@pytest.mark.parametrize(("fields", "named"), [
    ({"algorithm": "sac", "cluster": "auto"}, "cluster"),
    ({"algorithm": "sac", "online_feedback": True}, "online_feedback"),
    ({"algorithm": "sac", "sac": SACConfig()}, "sac.her"),
    ({"algorithm": "sac", "ppo": RunConfig().ppo.__class__(total_steps=5_000)},
     "ppo.total_steps"),
    ({"takeovers": True}, "takeovers"),
    ({"algorithm": "td3"}, "algorithm"),
])
def test_settings_sac_cannot_follow_are_refused_in_one_line(fields, named):
    with pytest.raises(ConfigError, match=named) as caught:
        RunConfig(scene="Reach", **fields)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("grid", "base"), [
    (["sac.lr=1e-3,3e-4"], RunConfig(scene="Reach", algorithm="sac")),
    (["algorithm=ppo,sac"], RunConfig(scene="Reach")),
])
def test_a_sweep_over_sac_is_refused_before_anything_starts(grid, base):
    from workbench.rl.sweep_grid import grid_assignments

    with pytest.raises(ConfigError, match="algorithm: a sweep trains PPO"):
        grid_assignments(grid, base)


def test_a_sac_run_on_a_learned_reward_guards_it_by_the_mean_action(tmp_path, monkeypatch):
    """The hacking guard of a SAC run checks the actor's mean action on its own evaluation
    episodes, as a PPO run's does (one episode here, so a check falls within 800 steps)."""
    from workbench.rewards.code.model import CodeConfig
    from workbench.rewards.workflow import fit_code_in_workspace
    from workbench.rl import run as run_module
    from workbench.teleop.recorder import record_policy_episodes, scripted_policy

    monkeypatch.setattr(run_module, "GUARD_EPISODES", 1)
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        env = make_env("Reach")
        record_policy_episodes(env, ws, scripted_policy(env, 0), 2, "scripted", seed=0)
        code = ("import numpy as np\n\ndef reward(f):\n"
                "    return -np.linalg.norm(f['hand_to_target'], axis=1)\n")
        _, report = fit_code_in_workspace(ws, "Reach", CodeConfig(source=code))
        config = RunConfig(scene="Reach", reward="model", reward_model=report["path"],
                           algorithm="sac", sac=replace(TINY, total_steps=800), eval_episodes=2)
        result = train_run(ws, config)
    log = [json.loads(line) for line in open(Path(result["path"]) / "metrics.jsonl")]
    checked = [r["step"] for r in log if "monitor/eval_success" in r]
    assert checked == [600]  # after the 5 warm-up logs, every 6th (60 steps x 10 / 100)
    assert 0.0 <= result["success_rate"] <= 1.0
