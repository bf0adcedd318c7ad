"""Perceptual progress from camera frames: fit from one demo, measured against ground truth;
artifact round trip; clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.envs import make_env
from workbench.rewards.metrics import progress_spearman
from workbench.rewards.perceptual import (
    PerceptualConfig,
    PerceptualProgressModel,
    fit_perceptual_progress,
)
from workbench.teleop.recorder import record_policy_episodes, scripted_policy

CAMERAS = ("front", "top")


@pytest.fixture(scope="module")
def push_episodes(tmp_path_factory):
    from workbench.data.workspace import Workspace

    workspace = Workspace.open(tmp_path_factory.mktemp("perceptual"), create=True)
    env = make_env("Push")
    ids = record_policy_episodes(env, workspace, scripted_policy(env, 0), 5, "scripted",
                                 image_cameras=CAMERAS, image_size=64)
    yield [workspace.load_episode(i) for i in ids]
    workspace.close()


def test_one_demo_gives_a_progress_reward_that_tracks_ground_truth(push_episodes, tmp_path):
    demo, held_out = push_episodes[0], push_episodes[1:]
    model = fit_perceptual_progress([demo], "Push",
                                    config=PerceptualConfig(cameras=CAMERAS, epochs=60))
    assert progress_spearman(model, held_out) > 0.7
    progress = model.progress_episode(held_out[0])
    assert progress.shape == (len(held_out[0]),) and ((progress >= 0) & (progress <= 1)).all()

    model.save(tmp_path / "reward")
    loaded = PerceptualProgressModel.load(tmp_path / "reward")
    np.testing.assert_allclose(loaded.progress_episode(held_out[0]), progress, atol=1e-6)


def test_missing_camera_frames_say_how_to_record_them(push_episodes):
    model = PerceptualProgressModel("Push", PerceptualConfig(cameras=("side",)))
    with pytest.raises(ValueError, match="record with these cameras"):
        model.progress_episode(push_episodes[0])
    with pytest.raises(ValueError, match="at least one demonstration"):
        fit_perceptual_progress([], "Push")
