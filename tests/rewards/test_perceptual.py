"""Perceptual progress from camera frames: fit from one demo, measured against ground truth;
artifact round trip; clear errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.rewards.takes import CAMERAS, framed_takes
from workbench.rewards.metrics import progress_spearman
from workbench.rewards.perceptual import (
    PerceptualConfig,
    PerceptualProgressModel,
    fit_perceptual_progress,
)


@pytest.fixture(scope="module")
def push_episodes(tmp_path_factory):
    from workbench.data.workspace import Workspace

    workspace = Workspace.open(tmp_path_factory.mktemp("perceptual"), create=True)
    yield framed_takes(workspace, "Push", 5)
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


def test_workspace_takes_without_frames_are_rendered_for_the_perceptual_family(tmp_path):
    """`workbench train-reward Push --family perceptual` on takes recorded without cameras."""
    from workbench.cli.main import main
    from workbench.data.workspace import Workspace
    from workbench.envs.replay import with_frames
    from workbench.rewards.artifact import load_reward_model
    from workbench.rewards.inspect import reward_along

    ws_dir = tmp_path / "ws"
    assert main(["record", "Push", "--scripted", "6", "--workspace", str(ws_dir)]) == 0
    assert main(["record", "Push", "--random", "5", "--workspace", str(ws_dir)]) == 0
    assert main(["train-reward", "Push", "--family", "perceptual", "--workspace", str(ws_dir),
                 "--epochs", "3", "--image-size", "32", "--pretrain", "0"]) == 0
    with Workspace.open(ws_dir) as ws:
        (row,) = ws.models("Push")
        assert row["family"] == "perceptual_progress" and "spearman_progress" in row["metrics"]
        assert row["metrics"]["cameras"] == ["front", "top"]
        # Where it was fitted: the CPU here, where auto precision is float32.
        assert (row["metrics"]["device"], row["metrics"]["precision"]) == ("cpu", "float32")
        model = load_reward_model(row["path"], device="cpu")
        episode = ws.load_episode(ws.episodes("Push")[0]["id"])
        framed = with_frames(episode, model.cameras, 32)
        assert framed["image/front"].shape == (len(episode), 32, 32, 3)
        assert "image/front" not in episode.keys()  # the recorded take is unchanged
        np.testing.assert_allclose(reward_along(model, episode), model.progress_episode(framed))


def test_bfloat16_runs_only_the_convolutions_in_it_and_scores_as_float32_does(push_episodes):
    """Mixed precision where it is safe (CUDA's default; asked for here on the CPU): the
    convolutions compute in bfloat16, the layers after them and the output stay float32, the
    scores stay close to float32's, and fitting takes the same path."""
    import torch

    config = PerceptualConfig(cameras=CAMERAS, epochs=2, image_size=32, precision="bfloat16")
    model = fit_perceptual_progress([push_episodes[0]], "Push", config=config)
    assert model.precision == torch.bfloat16
    seen: dict[str, torch.dtype] = {}

    def dtype_of(name):
        def hook(module, args, out):
            seen[name] = out.dtype
        return hook

    model.net.encoder.conv.register_forward_hook(dtype_of("conv"))
    model.net.encoder.head.register_forward_hook(dtype_of("head"))
    mixed = model.progress_episode(push_episodes[1])
    assert seen == {"conv": torch.bfloat16, "head": torch.float32}
    assert mixed.dtype == np.float32
    model.net.encoder.precision = None  # the same weights in float32
    full = model.progress_episode(push_episodes[1])
    assert np.abs(mixed - full).max() < 0.05 and np.abs(mixed - full).max() > 0

    auto = PerceptualProgressModel("Push", replace(config, precision="auto"), device="cpu")
    assert auto.precision is None and auto.net.encoder.precision is None


@pytest.fixture(scope="module")
def reach_episodes(tmp_path_factory):
    from workbench.data.workspace import Workspace

    workspace = Workspace.open(tmp_path_factory.mktemp("reach"), create=True)
    yield (framed_takes(workspace, "Reach", 6),
           framed_takes(workspace, "Reach", 2, perturbed=True, policy_seed=9, seed=500))
    workspace.close()


def test_a_reference_frame_carries_one_reach_demo_to_other_targets(reach_episodes, tmp_path):
    """Reach puts its target somewhere else in every episode: frames alone, one demo says
    nothing about other targets; the change since the first frame does."""
    (demo, *held_out), failed = reach_episodes
    config = PerceptualConfig(cameras=CAMERAS, epochs=60, reference_frame=True,
                              success_head=True)
    model = fit_perceptual_progress([demo], "Reach", failed, config)
    assert progress_spearman(model, held_out) > 0.8
    frames = model.frames_of(held_out[0])
    np.testing.assert_allclose(model.progress(frames), model.progress_episode(held_out[0]))
    later = model.progress(frames[5:], start=frames[0])  # a stretch keeps its episode's start
    np.testing.assert_allclose(later, model.progress_episode(held_out[0])[5:], atol=1e-6)
    assert not np.allclose(model.progress(frames[5:]), later)  # its own first frame is not it

    model.save(tmp_path / "reward")
    loaded = PerceptualProgressModel.load(tmp_path / "reward")
    assert loaded.config.reference_frame and loaded.config.success_head
    np.testing.assert_allclose(loaded.progress_episode(held_out[0]),
                               model.progress_episode(held_out[0]), atol=1e-6)


def test_each_scene_starts_from_its_own_cameras_and_options():
    from workbench.rewards import families
    from workbench.rewards.workflow import perceptual_defaults

    assert perceptual_defaults("DoorOpen").cameras == ("side", "top")  # "front" sees its back
    assert perceptual_defaults("DoorOpen").success_head
    assert perceptual_defaults("PickPlace").mirror and not perceptual_defaults("Push").mirror
    assert perceptual_defaults("Reach").pretrain  # its target moves between episodes
    assert perceptual_defaults("DrawerOpen").pretrain  # progress reads the drawer's travel
    assert perceptual_defaults("Stack").cameras == ("near_front", "near_top")  # its own option
    assert perceptual_defaults("Stack").success_head and perceptual_defaults("Push").pretrain
    assert not perceptual_defaults("Push").heights and not perceptual_defaults("Push").mirror
    assert perceptual_defaults("Push").success_head  # the cube on the pad outweighs the reach
    config = replace(families.get("perceptual").default_config("Reach"), pretrain=0,
                     reference_frame=True)
    assert config.reference_frame and config.cameras == ("near_front", "near_side")
    assert not config.pretrain and not config.success_head
    assert families.get("perceptual").default_config() == PerceptualConfig()  # no scene


def test_hindsight_frames_show_the_goal_reached_wherever_the_demo_went(reach_episodes):
    """Re-rendered from the demo's own states: the marker moved onto the hand (reached) or
    centimetres away from it (not), labelled from the goal geometry."""
    from workbench.envs.replay import EpisodeReplay, env_for
    from workbench.rewards.perceptual.hindsight import hindsight_frames

    (demo, *_), failed = reach_episodes
    frames, firsts, reached = hindsight_frames(demo, CAMERAS, 10, np.random.default_rng(0))
    assert frames.shape[1:] == (2, 64, 64, 3) and firsts.shape == frames.shape
    assert frames.dtype == np.uint8 and len(frames) == len(reached) >= 8
    assert 0 < reached.sum() < len(reached)
    # Every first frame is the demo's first state with the marker moved: the arm alike, the
    # marker (a few pixels) not, and the recorded first frame has its marker elsewhere.
    recorded = np.stack([demo[f"image/{c}"][0] for c in CAMERAS]).astype(int)
    changed = (np.abs(firsts.astype(int) - recorded).sum(-1) > 30).mean(axis=(1, 2, 3))
    assert (changed < 0.02).all() and (changed > 0).mean() > 0.5

    # In a fit they are the success head's examples, from the demo and the failed takes alike.
    config = PerceptualConfig(cameras=CAMERAS, epochs=2, reference_frame=True,
                              success_head=True, hindsight=6)
    model = fit_perceptual_progress([demo], "Reach", failed, config)
    assert model.progress_episode(demo).shape == (len(demo),)

    env = env_for(demo)  # the labels follow the geometry: reached only at the achieved goal
    replay = EpisodeReplay(env)
    replay.show(demo, 0)
    env.task.place_goal(env.physics, np.array([9.0, 9.0, 9.0]))
    assert (env.task.desired_goal(env.physics) <= 0.6).all()  # clipped to where targets go
    env.close()


def test_hindsight_goals_fall_inside_the_success_radius_or_beyond_the_near_miss_band():
    from workbench.rewards.perceptual.hindsight import moved_goal

    rng, achieved, tolerance = np.random.default_rng(0), np.array([0.4, 0.1]), 0.03

    def distances(missed: bool, **bands) -> np.ndarray:
        return np.array([np.linalg.norm(moved_goal(achieved, missed, tolerance, rng, **bands)
                                         - achieved) for _ in range(200)])

    assert (distances(False) == 0).all()  # the default: onto the achieved goal
    assert distances(True).min() >= 3 * tolerance and distances(True).max() <= 0.15
    inside = distances(False, within=0.8)
    assert inside.max() <= 0.8 * tolerance and inside.min() < 0.2 * tolerance
    rim = distances(True, near=1.2)
    assert rim.min() >= 1.2 * tolerance and (rim < 2 * tolerance).any()  # just missed too


def test_hindsight_needs_a_success_head_and_a_scene_that_can_move_its_goal(
        push_episodes, tmp_path):
    from workbench.data.workspace import Workspace

    with pytest.raises(ValueError, match="success_head=True"):
        fit_perceptual_progress(push_episodes[:1], "Push",
                                config=PerceptualConfig(cameras=CAMERAS, hindsight=8))
    workspace = Workspace.open(tmp_path / "ws", create=True)
    demo = framed_takes(workspace, "PickPlace", 1)
    with pytest.raises(ValueError, match="cannot move its goal"):
        fit_perceptual_progress(demo, "PickPlace", config=PerceptualConfig(
            cameras=CAMERAS, hindsight=8, success_head=True, epochs=1))
    workspace.close()
