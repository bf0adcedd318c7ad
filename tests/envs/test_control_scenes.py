"""dm_control's classic control tasks as workbench scenes: the suite's own physics, starts,
observations and rewards, step for step, and the whole loop of the workbench on them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from workbench.cli.main import main
from workbench.envs import make_env
from workbench.registry import SCENES
from workbench.rl.ppo import PPOConfig
from workbench.rl.run_config import RunConfig

CONTROL = [name for name in SCENES.names() if "control" in SCENES.load(name).tags]


def test_the_classic_control_tasks_are_scenes():
    assert {"CartpoleSwingup", "AcrobotSwingup", "PendulumSwingup", "ReacherHard",
            "FingerSpin", "PointMassEasy"} <= set(CONTROL)


@pytest.mark.parametrize("scene", CONTROL)
def test_a_control_scene_steps_as_the_suite_does(scene):
    """From the same state, the same actions give the suite env's observations and rewards
    (the cart-pole and acrobot integrate with RK4, which takes whole steps: a split step
    integrates with Euler and drifts from the suite within a few hundred steps)."""
    from dm_control import suite

    env = make_env(scene)
    task = env.task
    suite_env = suite.load(task.domain, task.suite_task)
    assert task.control_dt == pytest.approx(suite_env.control_timestep())
    assert task.episode_steps == suite_env._step_limit
    env.reset(seed=7)
    suite_env.reset()
    theirs, ours = suite_env.physics, env.physics
    with theirs.reset_context():  # our start, the target the scene drew included
        theirs.data.qpos[:], theirs.data.qvel[:] = ours.data.qpos, ours.data.qvel
        for site in range(theirs.model.nsite):
            theirs.model.site_pos[site] = ours.model.site(theirs.model.site(site).name).pos
        for geom in range(theirs.model.ngeom):
            name = theirs.model.geom(geom).name
            if name:
                theirs.model.geom_pos[geom] = ours.model.geom(name).pos
                theirs.model.geom_size[geom] = ours.model.geom(name).size
    rng = np.random.default_rng(0)
    returns = [0.0, 0.0]
    for _ in range(400):
        action = rng.uniform(-1.0, 1.0, env.action_space.shape)
        obs, reward, *_ = env.step(action)
        step = suite_env.step(action)
        expected = np.concatenate([np.ravel(v) for v in step.observation.values()])
        np.testing.assert_allclose(obs, expected.astype(np.float32), rtol=1e-5, atol=1e-5)
        assert reward == pytest.approx(step.reward, abs=1e-9)
        returns = [returns[0] + reward, returns[1] + step.reward]
    env.close()
    assert np.isfinite(returns).all()


def test_a_seed_replays_the_suites_random_start_and_another_seed_draws_another():
    env = make_env("ReacherHard")
    first, _ = env.reset(seed=3)
    again, _ = env.reset(seed=3)
    other, _ = env.reset(seed=4)
    env.close()
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1e-3  # the arm's angles and the target both drawn


def test_the_loop_runs_on_a_control_scene(tmp_path, capsys):
    """Random takes, synthetic rankings, a preference reward measured against the suite's
    reward, and PPO on it: every stage of the workbench on the cart-pole."""
    ws = ["--workspace", str(tmp_path / "ws")]
    assert main(["record", "CartpoleSwingup", "--random", "3", *ws]) == 0
    assert main(["teach", "CartpoleSwingup", "--teacher", "oracle", "--labels", "12",
                 *ws]) == 0
    assert main(["train-reward", "CartpoleSwingup", "--family", "preference", *ws]) == 0
    capsys.readouterr()
    assert main(["train", "CartpoleSwingup", "--steps", "2048", "--eval-episodes", "1",
                 *ws]) == 0
    out = capsys.readouterr().out
    run = json.loads(out[out.rfind("\n{") + 1:])
    assert "preference-CartpoleSwingup" in run["reward"]
    rows = [json.loads(line) for line in open(f"{run['path']}/metrics.jsonl")]
    assert {"charts/learned_return", "charts/reference_return"} <= rows[-1].keys()
    assert 0.0 <= run["mean_return"] <= 1000.0  # the suite's return: 1000 steps in [0, 1]
    # The run starts from the control scenes' PPO settings, not the bare defaults.
    ppo = json.loads(open(f"{run['path']}/config.json").read())["ppo"]
    assert (ppo["num_envs"], ppo["rollout_steps"], ppo["minibatches"]) == (1, 2048, 32)


def test_a_scene_without_ppo_options_starts_from_the_defaults():
    assert RunConfig.for_scene("Push").ppo == PPOConfig()
    assert RunConfig.for_scene("ReacherHard").ppo == replace(
        PPOConfig(), **SCENES.load("ReacherHard").ppo_options) != PPOConfig()
