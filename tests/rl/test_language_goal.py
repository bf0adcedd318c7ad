"""Training from a sentence: the sentence sets up the scene (the red cube, the blue pad), a scene
with a choice (PushChoice's two pads) trains one goal-conditioned policy on every choice, and the
goal travels with the run, the policy and the bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from workbench.envs import make_env
from workbench.rewards.artifact import load_reward_model
from workbench.rl.ppo import PPOConfig

BLUE, GREEN = "push the cube onto the blue pad", "push the cube onto the green pad"


def _target(obs, env):
    start = sum(size for name, size in list(env.features.items())
                [: list(env.features).index("target_pos")])
    return obs[start : start + 3]


def test_the_sentence_picks_the_pad_and_the_layout_stays():
    env = make_env("PushChoice")
    env.set_goal(BLUE)
    blue_obs, _ = env.reset(seed=3)
    assert env.task.object_colours(env.physics)["pad"] == "blue"
    env.set_goal(GREEN)
    green_obs, _ = env.reset(seed=3)
    # Same layout, other goal: the target is the pad the other one was.
    np.testing.assert_array_equal(_target(green_obs, env), blue_obs[-3:])
    np.testing.assert_array_equal(_target(blue_obs, env), green_obs[-3:])
    assert not np.array_equal(_target(green_obs, env), _target(blue_obs, env))
    for sentence, problem in [("push the cube onto the purple pad", "no purple pad"),
                              ("push the green cube onto the blue pad", "no green cube")]:
        with pytest.raises(ValueError, match=problem):
            env.set_goal(sentence)
    env.close()


def test_training_envs_draw_every_choice_and_keep_what_is_not_a_choice():
    env = make_env("PushChoice", goal="push the red cube onto the blue pad", draw_choices=True)
    pads, cubes = set(), set()
    for seed in range(16):
        env.reset(seed=seed)
        colours = env.task.object_colours(env.physics)
        pads.add(colours["pad"])
        cubes.add(colours["cube"])
    assert pads == {"green", "blue"} and cubes == {"red"}
    env.close()


def test_push_shows_the_cube_a_sentence_names_with_the_rest_of_the_episode_unchanged():
    env = make_env("Push")
    free, _ = env.reset(seed=5)
    env.set_goal("push the purple cube onto the green pad")
    named, _ = env.reset(seed=5)
    assert env.task.goal_text() == "push the purple cube onto the green pad"
    np.testing.assert_array_equal(free, named)  # colour is all that changed
    env.close()


def test_the_scripted_demonstrator_reaches_either_pad():
    env = make_env("PushChoice")
    for sentence in (BLUE, GREEN):
        env.set_goal(sentence)
        successes = 0
        for seed in range(10):
            env.reset(seed=seed)
            policy = env.task.scripted_policy(np.random.default_rng(seed))
            done, info = False, {}
            while not done:
                _, _, terminated, truncated, info = env.step(policy(env.physics))
                done = terminated or truncated
            successes += info["success"]
        assert successes >= 7, (sentence, successes)  # 9 of 10 measured
    env.close()


def test_a_run_with_a_goal_trains_on_the_grounded_reward_and_keeps_the_goal(workspace, tmp_path):
    from workbench.export.runner import run_in_sim
    from workbench.export.workflow import export_run
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    config = RunConfig(scene="PushChoice", goal=BLUE, eval_episodes=2, tensorboard=False,
                       ppo=PPOConfig(total_steps=512, num_envs=2, rollout_steps=128))
    result = train_run(workspace, config)
    assert result["reward"] == "grounded"
    assert set(result["goal_success"]) == {"pad=green", "pad=blue"}
    saved = json.loads(open(f"{result['path']}/config.json").read())
    assert saved["goal"] == BLUE
    policy_meta = json.loads(open(f"{result['path']}/policy/policy.json").read())
    assert policy_meta["contract"]["goal"] == BLUE
    bundle = export_run(result["path"], tmp_path / "bundle")
    assert bundle["goal"] == BLUE
    assert 0.0 <= run_in_sim(tmp_path / "bundle", episodes=1)["success_rate"] <= 1.0


def test_a_goal_the_scene_cannot_show_is_one_line_from_the_cli(tmp_path, capsys):
    from workbench.cli.main import main

    code = main(["train", "PushChoice", "--workspace", str(tmp_path / "ws"), "--steps", "256",
                 "--goal", "push the cube onto the purple pad"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "no purple pad" in err and "\n" not in err


def test_a_vision_language_model_fitted_in_the_workspace_trains_a_policy_toward_a_sentence(
        workspace):
    from workbench import config as cfg
    from workbench.rewards import families
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig
    from workbench.teleop.recorder import random_policy, record_policy_episodes, scripted_policy

    assert "vision_language" in families.fittable()  # so the CLI and the Reward panel list it
    env = make_env("PushChoice")
    record_policy_episodes(env, workspace, scripted_policy(env, 0), 3, "scripted", seed=0)
    record_policy_episodes(env, workspace, random_policy(env, 1), 2, "random", seed=50)
    env.close()
    family = families.get("vision_language")
    config = cfg.with_values(family.default_config("PushChoice"), {
        "frames.cameras": ("top",), "frames.image_size": 32, "frames.channels": 4,
        "frames.feature_dim": 8, "frames.hidden": 16, "frames.epochs": 2,
        "frames.pretrain": 48, "frames.pretrain_steps": 10})  # the defaults' 2000: minutes
    fit = family.fit_function()
    assert config.frames.colour_jitter == 0.0  # goals name colours: no colour augmentation
    _, report = fit(workspace, "PushChoice", config)
    assert "path" in report
    run = RunConfig(scene="PushChoice", reward="model", reward_model=report["path"],
                    tensorboard=False,
                    eval_episodes=2, ppo=PPOConfig(total_steps=256, num_envs=2, rollout_steps=128))
    with pytest.raises(ValueError, match="--goal"):
        train_run(workspace, run)
    result = train_run(workspace, RunConfig(**{**run.__dict__, "goal": BLUE}))
    assert result["reward"] == report["path"] and set(result["goal_success"]) == {
        "pad=green", "pad=blue"}
    # Distilled, the run refitted the pretrained probe on what it rendered, and keeps the
    # reward as it last read it: the same model but for the probe.
    fitted = load_reward_model(workspace.absolute(report["path"])).net.state_dict()
    as_read = load_reward_model(workspace.absolute(result["reward_as_read"])).net.state_dict()
    for name, weights in fitted.items():
        assert torch.equal(weights, as_read[name]) == (not name.startswith("probe.")), name


def test_each_episode_names_the_choice_it_drew_in_the_run_sentence():
    from workbench.registry import SCENES
    from workbench.sentences import rebind

    task = SCENES.load("PushChoice")
    assert rebind("Push the red cube onto the BLUE pad!", task, {"pad": "green"}) == (
        "Push the red cube onto the green pad!")  # the pad's colour only, wording kept
    assert rebind("push the cube onto the pad", task, {"pad": "green"}) == (
        "push the cube onto the pad")  # nothing named: nothing to change
    env = make_env("PushChoice", goal="push the red cube onto the blue pad", draw_choices=True)
    for seed in range(6):
        env.reset(seed=seed)
        pad = env.task.object_colours(env.physics)["pad"]
        assert env.episode_goal() == f"push the red cube onto the {pad} pad"
    env.close()


class SentenceScorer:
    """A goal-conditioned frame reward whose score shows which sentence each row was scored
    towards (blue: +10) and which frames (their mean brightness)."""

    cameras = ("front",)
    goal_conditioned = True

    def __init__(self):
        from workbench.rewards.perceptual import PerceptualConfig

        self.frame_config = PerceptualConfig(cameras=self.cameras, image_size=24)

    def score(self, frames, goals=None):
        blue = np.array([goal is not None and "blue" in goal for goal in
                         (goals if goals is not None else [None] * len(frames))])
        return frames.reshape(len(frames), -1).mean(axis=1) / 255 + 10.0 * blue


@pytest.mark.parametrize("scoring", ["direct", "distilled"])
def test_a_goal_conditioned_frame_reward_scores_each_env_towards_its_own_episode(scoring):
    """Envs that draw the pad per episode: every rendered step is scored towards the sentence
    of the episode it belongs to, the step that ends an episode included (its frames and its
    sentence come from before the automatic reset). Direct: as the step is taken; distilled:
    the rendered frames kept with their sentences and scored in one batch at the refit."""
    from workbench.envs.frames import RenderedFrames
    from workbench.rl.distill import DistillConfig, DistilledFrameReward
    from workbench.rl.ppo import make_vector_env
    from workbench.rl.reward_wrapper import LearnedRewardWrapper

    scorer = SentenceScorer()
    envs = make_vector_env("workbench/PushChoice-v0", 2, {"goal": BLUE, "draw_choices": True},
                           wrap=lambda env: RenderedFrames(env, scorer.cameras, 24))
    if scoring == "direct":
        envs = LearnedRewardWrapper(envs, scorer)
    else:
        envs = DistilledFrameReward(envs, scorer, config=DistillConfig(render_fraction=1.0))
        envs.direct = False  # as after the first refit: the frames wait for the next one
    envs.reset(seed=3)
    rng = np.random.default_rng(0)
    drawn, scored, ends = [], [], 0
    for _ in range(260):
        drawn.append([e.unwrapped.task.pad_colour == "blue" for e in envs.env.envs])
        actions = rng.uniform(-1, 1, (2, *envs.single_action_space.shape))
        _, _, terminated, truncated, info = envs.step(actions)
        ends += int((terminated | truncated).sum())
        scored.append(info["learned_score"] >= 10)
    if scoring == "distilled":
        envs.refit()
        scored = envs._targets >= 10  # the teacher's scores of every rendered step, in order
    drawn = np.array(drawn)
    assert ends >= 2 and drawn.any() and not drawn.all()  # episodes of both pads
    np.testing.assert_array_equal(np.ravel(scored), drawn.ravel())
    envs.close()
