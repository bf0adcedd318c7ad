"""Online preference learning while PPO trains (workbench.rl.online_reward)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.margins import TORCH_THREADS, at_least, seed
from workbench.rewards.preference.config import PreferenceConfig
from workbench.rewards.preference.fit import LabelledQuery
from workbench.rl.online_reward import OnlineFeedbackConfig, OnlinePreference
from workbench.rl.ppo import PPOConfig, make_vector_env, train_ppo
from workbench.rl.reward_wrapper import LearnedRewardWrapper
from workbench.session.reward_models import report_text

FEATURES = {"observation": 3}


def test_schedule_asks_a_first_batch_then_spends_the_rest_by_the_deadline():
    online = OnlinePreference("Pendulum-v1", FEATURES, OnlineFeedbackConfig(
        total_labels=40, first_fraction=0.25, spend_by=0.5))
    due = [online.labels_due(step, 100_000) for step in (0, 10_000, 25_000, 50_000, 90_000)]
    assert due[0] == 10
    assert due == sorted(due) and due[2] == 25
    assert due[3] == due[4] == 40


def test_wrapper_without_a_model_gives_zero_reward_until_one_is_installed():
    envs = make_vector_env("Pendulum-v1", 2)
    seen = []
    wrapper = LearnedRewardWrapper(envs, None, on_step=lambda s, r, e: seen.append((s, r, e)))
    wrapper.reset(seed=0)
    _, reward, *_ = wrapper.step(np.zeros((2, 1), np.float32))
    assert np.all(reward == 0.0)
    assert seen[0][0].shape == (2, 3) and np.all(seen[0][1] < 0)  # the env's own reward

    class Height:  # a reward that is the pendulum tip's height, cos(theta)
        def score(self, states):
            return states[:, 0].astype(np.float64)

    wrapper.set_model(Height())
    obs, reward, *_ = wrapper.step(np.zeros((2, 1), np.float32))
    np.testing.assert_allclose(reward, obs[:, 0], rtol=1e-6)
    wrapper.close()


@pytest.mark.rl_outcome
def test_refits_during_training_learn_the_teachers_reward():
    torch.set_num_threads(TORCH_THREADS)
    config = PPOConfig(num_envs=4, rollout_steps=128, total_steps=8_192, seed=seed(0), lr=1e-3,
                       gamma=0.9, anneal_lr=False)
    envs = make_vector_env("Pendulum-v1", config.num_envs)
    online = OnlinePreference("Pendulum-v1", FEATURES, OnlineFeedbackConfig(
        total_labels=60, segment_length=20, feedback_every=2, spend_by=0.8, seed=seed(0)))
    envs = LearnedRewardWrapper(envs, None, on_step=online.observe)
    logged = []
    train_ppo(envs, config, callbacks=(online.callback(envs), lambda p: logged.append(p.extras)))
    envs.close()

    assert len(online.queries) == 60
    rounds = [e for e in logged if "feedback/labels" in e]
    assert len(rounds) >= 3  # labels arrived over several rounds, not once
    assert [e["feedback/labels"] for e in rounds] == sorted(e["feedback/labels"] for e in rounds)
    assert envs.model is online.model  # the latest refit scores the rollouts

    # The learned reward orders fresh segments of the policy's episodes as the truth does.
    hits = []
    for _ in range(200):
        a, b = online._random_segment(), online._random_segment()
        truth = a.rewards.sum() - b.rewards.sum()
        if abs(truth) < 1.0:
            continue
        learned = online.model.reward(a.states).sum() - online.model.reward(b.states).sum()
        hits.append((learned > 0) == (truth > 0))
    assert len(hits) > 50
    at_least(("online preference: accuracy on fresh policy segments", np.mean(hits), 0.8))


def test_a_stopped_online_run_resumes_with_its_labels_to_the_uninterrupted_result(tmp_path):
    torch.set_num_threads(1)
    config = PPOConfig(num_envs=4, rollout_steps=64, total_steps=8 * 256, seed=1,
                       anneal_lr=False)
    feedback = OnlineFeedbackConfig(total_labels=24, segment_length=20, feedback_every=2,
                                    spend_by=0.9, seed=1)

    def run(callbacks=(), checkpoint=None, resume=False):
        envs = make_vector_env("Pendulum-v1", config.num_envs)
        online = OnlinePreference("Pendulum-v1", FEATURES, feedback)
        envs = LearnedRewardWrapper(envs, None, on_step=online.observe)
        policy = train_ppo(envs, config, callbacks=(online.callback(envs), *callbacks),
                           checkpoint=checkpoint, checkpoint_every=100, resume=resume)
        envs.close()
        return torch.cat([p.flatten() for p in policy.state_dict().values()]), online, envs

    reference, uninterrupted, _ = run()

    def stop_in_five(progress):
        return progress.update != 5  # False: stop (the checkpoint is written on the way out)

    _, stopped, _ = run((stop_in_five,), tmp_path / "run.ckpt")
    assert 0 < len(stopped.queries) < len(uninterrupted.queries)
    resumed, online, envs = run(checkpoint=tmp_path / "run.ckpt", resume=True)
    assert torch.equal(resumed, reference)
    assert [q.answer for q in online.queries] == [q.answer for q in uninterrupted.queries]
    assert online.rounds == uninterrupted.rounds and envs.model is online.model

    with pytest.raises(ValueError, match="no state for callback"):  # a learner it never saw
        envs = make_vector_env("Pendulum-v1", config.num_envs)
        online = OnlinePreference("Pendulum-v1", FEATURES, feedback)
        envs = LearnedRewardWrapper(envs, None, on_step=online.observe)
        train_ppo(envs, config, callbacks=(stop_in_five, online.callback(envs)),
                  checkpoint=tmp_path / "run.ckpt", resume=True)


def test_labels_due_at_once_are_asked_a_few_at_a_time_each_batch_by_the_latest_refit(
        monkeypatch):
    import workbench.rl.online_reward as online_reward

    fitted_on: list[int] = []  # labels each refit saw
    real_fit = online_reward.fit_preference

    def counting_fit(queries, *args, **kwargs):
        fitted_on.append(len(queries))
        return real_fit(queries, *args, **kwargs)

    monkeypatch.setattr(online_reward, "fit_preference", counting_fit)
    online = OnlinePreference("Pendulum-v1", FEATURES, OnlineFeedbackConfig(
        total_labels=9, first_fraction=1.0, labels_per_fit=3, segment_length=10,
        preference=PreferenceConfig(epochs=5, device="cpu")))
    rng = np.random.default_rng(0)
    for step in range(200):  # 4 envs, episodes of 50 steps
        states = rng.normal(size=(4, 3)).astype(np.float32)
        online.observe(states, -np.abs(states[:, 0]), np.full(4, step % 50 == 49))
    seen = []
    original_select = online.select_pairs
    monkeypatch.setattr(online, "select_pairs",
                        lambda count: seen.append(online.model) or original_select(count))
    record = online.feedback_round(1000, 10_000)
    assert record["feedback/labels"] == 9.0 and len(online.queries) == 9
    assert fitted_on == [3, 6, 9]  # a refit after each batch of three
    assert seen[0] is None and seen[1] is not None and seen[2] is not seen[1]


def test_labels_from_outside_join_the_refit_without_a_teacher():
    rng = np.random.default_rng(0)
    outside: list[LabelledQuery] = []

    def new_labels():
        return outside

    online = OnlinePreference("Pendulum-v1", FEATURES, OnlineFeedbackConfig(total_labels=0),
                              teacher=None, extra_queries=new_labels)
    assert online.feedback_round(0, 1000) == {}  # nothing arrived: no refit
    assert online.model is None
    for _ in range(20):  # upright (cos theta near 1) preferred, as a person would
        up = np.column_stack([np.ones(10), np.zeros(10), rng.normal(size=10)])
        down = np.column_stack([-np.ones(10), np.zeros(10), rng.normal(size=10)])
        outside.append(LabelledQuery((up.astype(np.float32), down.astype(np.float32)), "left"))
    record = online.feedback_round(0, 1000)
    assert record["feedback/labels"] == 20.0
    up_state = np.array([[1.0, 0.0, 0.0]], np.float32)
    down_state = np.array([[-1.0, 0.0, 0.0]], np.float32)
    assert online.model.reward(up_state)[0] > online.model.reward(down_state)[0]
    assert online.feedback_round(10, 1000) == {}  # the same labels again: no refit


def test_needs_a_teacher_or_a_label_source():
    with pytest.raises(ValueError, match="teacher or a source of labels"):
        OnlinePreference("Pendulum-v1", FEATURES, teacher=None)


def test_a_run_learns_its_reward_online_from_workspace_labels_and_a_teacher(workspace):
    from workbench.envs import make_env
    from workbench.rewards import load_reward_model
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig
    from workbench.teleop.recorder import record_policy_episodes, scripted_policy

    env = make_env("Push")
    good, bad = (record_policy_episodes(env, workspace, scripted_policy(env, 0, perturbed), 1,
                                        "scripted", seed=i)[0]
                 for i, perturbed in enumerate((False, True)))
    env.close()
    workspace.add_preference([(good, 40, 60), (bad, 40, 60)], "left")  # a person's label
    # A label on the SO-101's takes: other observations, so this arm6 run leaves it out.
    so101 = make_env("Push", robot="so101")
    takes = record_policy_episodes(so101, workspace, scripted_policy(so101, 0), 2, "scripted")
    so101.close()
    workspace.add_preference([(takes[0], 40, 60), (takes[1], 40, 60)], "right")
    config = RunConfig(
        scene="Push", online_feedback=True, online_teacher="oracle", online_clips=1,
        checkpoint_every=0, tensorboard=False, eval_episodes=2,
        online=OnlineFeedbackConfig(total_labels=12, segment_length=20, feedback_every=2,
                                    preference=PreferenceConfig(epochs=100, device="cpu",
                                                                scene_mirror=True)),
        ppo=PPOConfig(num_envs=4, rollout_steps=64, total_steps=4 * 64 * 4),
    )
    result = train_run(workspace, config)

    clips = [r for r in workspace.episodes(scene="Push") if r["source"] == "policy"]
    assert len(clips) == 3  # rounds after updates 1, 2 and 4, one clip each
    model = workspace.models(scene="Push")[-1]
    assert model["family"] == "preference" and result["reward"] == model["path"]
    assert model["metrics"]["online_labels"] == 12  # the teacher's; plus the person's one
    assert load_reward_model(model["path"]).config.mirror == make_env("Push").mirror().signs
    assert report_text(model).startswith(
        f"preference model #{model['id']} from 12 labels asked while training · told a "
        "mirror symmetry (the scene's)")
    log = (Path(result["path"]) / "metrics.jsonl").read_text().splitlines()
    rounds = [json.loads(line) for line in log if "feedback/labels" in line]
    # After the first 64 steps no 80-step episode has ended: only the person's label is there.
    assert rounds[0]["feedback/labels"] == 1
    assert rounds[-1]["feedback/labels"] == 13


def test_a_scene_mirror_the_robot_lacks_is_refused_before_training(workspace):
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    online = OnlineFeedbackConfig(preference=PreferenceConfig(scene_mirror=True))
    with pytest.raises(ValueError, match="scene_mirror: Reach with so101 declares no mirror"):
        train_run(workspace, RunConfig(scene="Reach", robot="so101", online_feedback=True,
                                       online_teacher="oracle", online=online))
    assert not workspace.runs()


def test_an_input_the_scene_lacks_is_refused_before_training_even_with_no_labels_yet(workspace):
    """Without a teacher the first fit may never come (a person ranks in the app, or not at
    all), so a misspelt input is refused at the start, not at the first labels."""
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    online = OnlineFeedbackConfig(preference=PreferenceConfig(inputs=("cube_to_taget",)))
    with pytest.raises(ValueError, match=r"inputs \['cube_to_taget'\] are not observation"):
        train_run(workspace, RunConfig(scene="Push", online_feedback=True, online=online))
    assert not workspace.runs()


def test_an_unknown_online_teacher_is_named_as_the_settings_are_made():
    from workbench.rl.run_config import RunConfig

    with pytest.raises(ValueError, match=r"online_teacher must be one of 'oracle', 'stoc', .*"
                                         r"\(or empty\), got 'oracel'"):
        RunConfig(scene="Push", online_feedback=True, online_teacher="oracel")


def test_the_sparse_reward_is_the_scenes_success():
    from workbench.envs import make_env
    from workbench.rl.reward_wrapper import SuccessRewardWrapper

    envs = SuccessRewardWrapper(make_vector_env("workbench/Reach-v0", 2))
    envs.reset(seed=0)
    env = make_env("Reach")
    env.reset(seed=0)
    rewards, successes = [], []
    for _ in range(40):  # the scripted demonstrator in env 0, standing still in env 1
        action = env.task.scripted_policy(np.random.default_rng(0))(env.physics)
        env.step(action)
        _, reward, _, _, info = envs.step(np.stack([action, np.zeros_like(action)]))
        rewards.append(reward)
        successes.append(info["success"])
    rewards, successes = np.array(rewards), np.array(successes)
    np.testing.assert_array_equal(rewards, successes.astype(float))
    assert rewards[:, 0].max() == 1.0 and rewards[:, 1].max() == 0.0
    envs.close()
    env.close()


@pytest.mark.slow  # 110 s on 2 cores: over the default run's budget
@pytest.mark.rl_outcome
def test_sac_relabels_its_replay_after_each_refit(monkeypatch):
    """PEBBLE: SAC on a preference reward learned online; after a refit every stored reward is
    the new model's, and the policy learns the teacher's task."""
    import gymnasium as gym

    from workbench.rl import sac

    buffers, refits = [], []
    monkeypatch.setattr(sac.GoalReplay, "__init__", _capturing(sac.GoalReplay.__init__, buffers))
    torch.set_num_threads(TORCH_THREADS)
    online = OnlinePreference("Pendulum-v1", FEATURES, OnlineFeedbackConfig(
        total_labels=60, segment_length=50, spend_by=0.6, seed=seed(0)))

    def after_refit(progress):
        if "feedback/labels" in progress.extras:
            replay = buffers[0]
            refits.append(progress.step)
            np.testing.assert_allclose(  # old transitions too, not only the new ones
                replay.reward[: replay.size], online.model.score(replay.next_obs[: replay.size]),
                rtol=1e-5, atol=1e-6)

    config = sac.SACConfig(total_steps=5_000, learning_starts=1_000, gamma=0.99,
                           hidden=(64, 64), log_every=500, seed=seed(0))
    agent = sac.train_sac(gym.make("Pendulum-v1"), config, callbacks=(after_refit,),
                          feedback=online)
    assert len(refits) >= 3 and len(online.queries) == 60
    returns = sac.evaluate_sac(agent, gym.make("Pendulum-v1"), 5)["mean_return"]
    # Random actions: about -1,200.
    at_least(("PEBBLE: Pendulum mean return after 5k SAC steps", returns, -700))


def _capturing(init, store):
    def wrapped(self, *args, **kwargs):
        init(self, *args, **kwargs)
        store.append(self)

    return wrapped


@pytest.mark.parametrize("guarded", [True, False])
def test_a_run_that_learns_its_reward_while_it_trains_is_guarded(workspace, monkeypatch,
                                                                 guarded):
    """The reward most open to hacking, one fitted on a few labels, is watched too: on true
    success and, while that stays rare, the reference return of the guard's own episodes."""
    from workbench.rl import run as run_module
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    built = []

    def every_update(eval_env, steps_per_callback):  # checks the run's budget can afford
        monitor = guard(eval_env, steps_per_callback)
        monitor.eval_every, monitor.warmup_updates = 1, 0
        built.append(monitor)
        return monitor

    guard = run_module._guard_on_evaluations
    monkeypatch.setattr(run_module, "_guard_on_evaluations", every_update)
    config = RunConfig(
        scene="Reach", online_feedback=True, online_teacher="oracle", hacking_guard=guarded,
        checkpoint_every=0, tensorboard=False, eval_episodes=1,
        online=OnlineFeedbackConfig(total_labels=4, segment_length=20, feedback_every=1),
        ppo=PPOConfig(num_envs=2, rollout_steps=64, total_steps=2 * 64 * 3))
    result = train_run(workspace, config)
    if not guarded:
        assert not built
        return
    (monitor,) = built
    assert monitor.return_scale == 60  # Reach: 60 steps, its reference reward at most 1 each
    log = [json.loads(line) for line in
           (Path(result["path"]) / "metrics.jsonl").read_text().splitlines()]
    checked = [row["monitor/eval_return"] for row in log]  # one check an update
    assert [h["return"] for h in monitor.history] == checked and len(checked) == 3
    assert all(0.0 <= value <= 60.0 for value in checked)
