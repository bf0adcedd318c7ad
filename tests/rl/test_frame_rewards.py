"""Training on a reward over camera frames (direct): the vector envs render the model's cameras
after every step and the model scores the batch. Distilled training: tests/rl/test_distill.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from workbench.envs import make_env
from workbench.envs.frames import RenderedFrames
from workbench.rewards.perceptual import PerceptualConfig, PerceptualProgressModel
from workbench.rl.ppo import make_vector_env
from workbench.rl.reward_wrapper import LearnedRewardWrapper
from workbench.sim.render import MODEL_FRAMES, CameraRenderer

CAMERAS = ("front", "top")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)  # untrained, but a fixed function of the frames: all the test needs
    return PerceptualProgressModel("Reach", PerceptualConfig(
        cameras=CAMERAS, image_size=32, channels=4, feature_dim=8, hidden=16, pretrain=0),
        device="cpu")


def test_the_learned_reward_is_the_model_on_frames_of_each_state_across_episode_ends(model):
    """Against one env stepped alone with the same seed and actions, rendered independently:
    the wrapper's score of env 0 is the model's score of those frames, including the last
    step of an episode (rendered before the automatic reset) and the first of the next."""
    size = model.frame_config.image_size
    envs = LearnedRewardWrapper(
        make_vector_env("workbench/Reach-v0", 2,
                        wrap=lambda env: RenderedFrames(env, CAMERAS, size)), model)
    alone = make_env("Reach")
    renderer = CameraRenderer(alone.physics.model, size, size, MODEL_FRAMES)

    def score_alone() -> float:
        frames = np.stack([renderer.rgb(alone.physics.data, c) for c in CAMERAS])
        return float(model.score(frames[None])[0])

    rng = np.random.default_rng(0)
    envs.reset(seed=7)
    alone.reset(seed=7)
    steps = alone.task.episode_steps
    ended_at = None
    for t in range(steps + 5):
        actions = rng.uniform(-1, 1, (2, *alone.action_space.shape))
        _, reward, terminated, truncated, info = envs.step(actions)
        _, _, end_alone, cut_alone, _ = alone.step(actions[0])
        assert info["learned_score"][0] == pytest.approx(score_alone(), abs=1e-6)
        assert reward[0] == pytest.approx(info["learned_score"][0])  # the progress transform
        if end_alone or cut_alone:
            ended_at = t
            assert terminated[0] or truncated[0]
            alone.reset()  # the vector env resets env 0 itself (no seed: its own generator)
            np.testing.assert_allclose(envs._phi[0], score_alone(), atol=1e-6)
    assert ended_at is not None  # the comparison crossed an episode boundary
    envs.close()
    renderer.close()
    alone.close()


def test_training_renders_the_frames_the_recorder_stored(workspace):
    """A frame reward is fitted on recorded frames and scores frames rendered while a policy
    trains: the two renderings of a state are the same pixels (MODEL_FRAMES), so the model
    sees in training what it was fitted on."""
    from workbench.teleop.recorder import Recorder

    rng = np.random.default_rng(1)
    actions = rng.uniform(-1, 1, (6, *make_env("Reach").action_space.shape)).astype(np.float32)
    recorder = Recorder(make_env("Reach"), workspace, "teleop", image_cameras=CAMERAS,
                        image_size=32)
    recorder.start(seed=11)
    for action in actions:
        recorder.step(action)
    episode = workspace.load_episode(recorder.save())
    recorder.close()
    framed = RenderedFrames(make_env("Reach"), CAMERAS, 32)
    framed.reset(seed=11)
    rendered = [framed.step(action)[4]["frames"] for action in actions]
    framed.close()
    recorded = np.stack([episode[f"image/{c}"] for c in CAMERAS], axis=1)  # after each step
    assert recorded.shape == (len(actions), len(CAMERAS), 32, 32, 3)
    np.testing.assert_array_equal(np.stack(rendered), recorded)


def test_a_run_trains_on_a_stored_perceptual_model_and_refuses_another_scene(model, workspace):
    from workbench.rewards.workflow import store_model
    from workbench.rl.ppo import PPOConfig
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    stored = store_model(workspace, model, "Reach", {"train_demos": 0})
    config = RunConfig(scene="Reach", reward="model", reward_model=stored["path"],
                       eval_episodes=1, tensorboard=False,
                       checkpoint_every=1, hacking_guard=False,
                       ppo=PPOConfig(num_envs=2, rollout_steps=32, total_steps=128))
    result = train_run(workspace, config)
    assert result["reward"] == stored["path"] and workspace.runs()[-1]["status"] == "finished"
    log = [json.loads(line) for line in open(f"{result['path']}/metrics.jsonl")]
    assert all("distill/rendered" in row for row in log)  # distilled by default
    latest = train_run(workspace, RunConfig(**{**config.__dict__, "reward": "latest",
                                               "reward_model": "", "frame_scoring": "direct"}))
    assert latest["reward"] == stored["path"]  # "latest" includes rewards over frames
    log = [json.loads(line) for line in open(f"{latest['path']}/metrics.jsonl")]
    assert not any("distill/rendered" in row for row in log)
    with pytest.raises(ValueError, match="fitted on Reach"):
        train_run(workspace, RunConfig(**{**config.__dict__, "scene": "Push"}))
