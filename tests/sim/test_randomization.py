"""Domain randomisation: seeded, bounded, non-compounding, recorded, and exact under replay."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.envs import make_env
from workbench.teleop.recorder import Recorder, scripted_policy

DYNAMICS = {"mass": 0.2, "friction": 0.3, "damping": 0.4, "actuator_gain": 0.1}
VISUALS = {"light": 0.5, "colour": 0.1, "camera": 0.02}


def test_a_seed_fixes_the_draw_and_other_seeds_differ():
    env = make_env("Push", randomization={**DYNAMICS, **VISUALS})
    _, info_a = env.reset(seed=1)
    mass_a = env.physics.model.body_mass.copy()
    _, info_b = env.reset(seed=2)
    _, info_c = env.reset(seed=1)
    assert info_a["randomization"] == info_c["randomization"]
    assert info_a["randomization"]["drawn"]["mass"] != info_b["randomization"]["drawn"]["mass"]
    # Reset restores the nominal model before drawing: factors never compound.
    np.testing.assert_array_equal(env.physics.model.body_mass, mass_a)


def test_dynamics_stay_within_their_ranges():
    nominal = make_env("Walk")
    nominal.reset(seed=0)
    env = make_env("Walk", randomization=DYNAMICS)
    for seed in range(5):
        env.reset(seed=seed)
        model, base = env.physics.model, nominal.physics.model
        ratio = model.body_mass[1:] / base.body_mass[1:]
        assert np.all((ratio >= 0.8 - 1e-9) & (ratio <= 1.2 + 1e-9)) and ratio.std() > 0
        damping = base.dof_damping > 0
        ratio = model.dof_damping[damping] / base.dof_damping[damping]
        assert np.all((ratio >= 0.6 - 1e-9) & (ratio <= 1.4 + 1e-9))
        gain = model.actuator_gainprm[:, 0] / base.actuator_gainprm[:, 0]
        assert np.all((gain >= 0.9 - 1e-9) & (gain <= 1.1 + 1e-9))


def test_visual_randomisation_moves_fixed_cameras_only_and_changes_the_image():
    plain = make_env("Push", obs_mode="pixels", cameras=("front",), image_size=64)
    jittered = make_env("Push", obs_mode="pixels", cameras=("front",), image_size=64,
                        randomization=VISUALS)
    obs_plain, _ = plain.reset(seed=0)
    obs_jit, _ = jittered.reset(seed=0)
    model = jittered.physics.model
    fixed = model.cam_bodyid == 0
    moved = np.linalg.norm(model.cam_pos - plain.physics.model.cam_pos, axis=1)
    assert np.all(moved[fixed] > 0) and np.all(moved[~fixed] == 0)
    assert np.abs(obs_plain["front"].astype(int) - obs_jit["front"].astype(int)).mean() > 1.0


def test_action_latency_delays_commands_by_whole_ticks():
    env = make_env("Reach", randomization={"action_latency": 2})
    env.reset(seed=0)
    start = env.controller.target_pos.copy()
    push_x = np.array([1.0, 0.0, 0.0, -1.0])
    env.step(push_x)
    env.step(push_x)
    np.testing.assert_allclose(env.controller.target_pos[0], start[0], atol=1e-12)
    env.step(push_x)
    assert env.controller.target_pos[0] > start[0] + 0.005


def test_latency_snapshot_includes_commands_in_flight():
    env = make_env("Reach", randomization={"action_latency": 3})
    env.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(5):
        env.step(rng.uniform(-1, 1, 4))
    saved = env.snapshot()
    tail = [rng.uniform(-1, 1, 4) for _ in range(6)]
    for action in tail:
        env.step(action)
    first = env.snapshot()
    env.reset(seed=4, options={"state": saved})
    for action in tail:
        env.step(action)
    np.testing.assert_array_equal(env.snapshot(), first)


def test_sensor_noise_reaches_observations_but_not_ground_truth():
    clean = make_env("Push")
    noisy = make_env("Push", randomization={"obs_noise": 0.01})
    obs_c, _ = clean.reset(seed=3)
    obs_n, _ = noisy.reset(seed=3)
    assert 0.003 < np.std(obs_n - obs_c) < 0.03
    for _ in range(10):
        _, _, _, _, info_c = clean.step(np.array([0.5, 0.0]))
        _, _, _, _, info_n = noisy.step(np.array([0.5, 0.0]))
        assert info_c["progress"] == info_n["progress"]
    np.testing.assert_array_equal(clean.state_vector(), noisy.state_vector())


def test_the_draw_is_recorded_with_the_episode_and_replays_exactly(workspace):
    settings = {**DYNAMICS, "action_latency": 1}
    env = make_env("Push", randomization=settings)
    recorder = Recorder(env, workspace, "scripted")
    recorder.start(seed=5)
    policy = scripted_policy(env, seed=5)
    for _ in range(30):
        recorder.step(policy(env, None))
    episode = workspace.load_episode(recorder.save())
    record = episode.meta["meta"]["randomization"]
    assert record["config"]["mass"] == 0.2 and len(record["drawn"]["mass"]) > 3

    replay = make_env("Push", randomization=record["config"])
    replay.reset(seed=episode.meta["seed"])
    for action in episode["action"]:
        replay.step(action)
    np.testing.assert_array_equal(replay.snapshot(), episode["sim_state"][-1])


@pytest.mark.parametrize("bad, words", [({"mas": 0.1}, "unknown randomisation settings"),
                                        ({"mass": 1.5}, "relative ranges < 1"),
                                        ({"action_latency": -1}, ">= 0")])
def test_bad_settings_say_what_is_wrong(bad, words):
    with pytest.raises(ValueError, match=words):
        make_env("Push", randomization=bad)
