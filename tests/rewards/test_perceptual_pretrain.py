"""A perceptual encoder pretrained on scattered scene states: the scatter itself, the probe
reading the state from frames better than a guess, a fit that leaves the encoder alone, the
artifact round trip and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.rewards.takes import CAMERAS, framed_takes
from workbench.rewards.perceptual import (
    PerceptualConfig,
    PerceptualProgressModel,
    fit_perceptual_progress,
)
from workbench.rewards.perceptual.pretrain import (
    relation_names,
    relation_slices,
    relations,
    scattered_frames,
)


def test_scatter_puts_the_hand_and_cube_in_new_places_sometimes_together():
    frames, states = scattered_frames("PickPlace", CAMERAS, 40, 32, seed=3)
    assert frames.shape == (40, 2, 32, 32, 3) and frames.dtype == np.uint8
    from workbench.rewards.perceptual.pretrain import state_layout

    layout = state_layout("PickPlace")
    at = {name: sum(list(layout.values())[:i]) for i, name in enumerate(layout)}
    hand = states[:, at["ee_pos"] : at["ee_pos"] + 3]
    cube = states[:, at["cube_pos"] : at["cube_pos"] + 3]
    gap = np.linalg.norm(states[:, at["hand_to_cube"] : at["hand_to_cube"] + 3], axis=1)
    np.testing.assert_allclose(gap, np.linalg.norm(cube - hand, axis=1), atol=1e-5)
    assert hand.std(0).min() > 0.02 and cube[:, :2].std(0).min() > 0.02  # spread out
    assert 0.1 < (gap < 0.02).mean() < 0.6  # the cube is in the hand in some, not all
    assert (cube[:, 2] > 0.05).any()  # lifted in some
    assert len({f.tobytes() for f in frames}) == len(frames)
    again = scattered_frames("PickPlace", CAMERAS, 5, 32, seed=3)
    np.testing.assert_array_equal(again[1], states[:5])  # seeded


def test_relations_are_lengths_and_heights_of_the_vectors_and_the_one_number_features():
    layout = {"gripper": 1, "hand_to_cube": 3, "cube_pos": 3, "cube_to_tray": 3, "opening": 1}
    vectors, scalars = relation_slices(layout)
    state = torch.tensor([[0.5, 3.0, 0.0, 4.0, 9.0, 9.0, 9.0, 0.0, 0.0, -2.0, 0.7]])
    np.testing.assert_allclose(relations(state, vectors, scalars).numpy(),
                               [[5.0, 4.0, 2.0, 2.0, 0.5, 0.7]], rtol=1e-6)
    np.testing.assert_allclose(relations(state, vectors, scalars, heights=False).numpy(),
                               [[5.0, 2.0, 0.5, 0.7]], rtol=1e-6)
    assert relation_names(layout, heights=False) == [
        "hand_to_cube length", "cube_to_tray length", "gripper", "opening"]
    with pytest.raises(ValueError, match="vectors between things"):
        relation_slices({"joint_pos": 6, "cube_pos": 3})


NEAR = ("near_front", "near_side")  # Reach's cameras framed on its targets


@pytest.fixture(scope="module")
def reach_takes(tmp_path_factory):
    from workbench.data.workspace import Workspace

    workspace = Workspace.open(tmp_path_factory.mktemp("reach_pretrain"), create=True)
    yield framed_takes(workspace, "Reach", 3, cameras=NEAR)
    workspace.close()


@pytest.mark.slow  # 90 s on 2 cores: over the default run's budget
def test_a_pretrained_encoder_reads_the_distance_and_the_demo_fit_leaves_it_alone(
        reach_takes, tmp_path):
    demo, *held_out = reach_takes
    config = PerceptualConfig(cameras=NEAR, pretrain=400, pretrain_steps=600, channels=16,
                              lr=3e-3, epochs=20, success_head=True)
    model = fit_perceptual_progress([demo], "Reach", config=config)
    # The probe's held-out error of the hand-target distance beats guessing its mean.
    frames, states = scattered_frames("Reach", NEAR, 400, 64, seed=0)
    truth = np.linalg.norm(states[-40:, -3:], axis=1)
    error = model.metrics["relation_error"]["hand_to_target length"]
    assert error < 0.7 * np.abs(truth - truth.mean()).mean()

    # The demo fit trained the heads only: a second fit starts from the same encoder.
    other = fit_perceptual_progress(held_out[:1], "Reach", config=config)
    for name, weights in model.net.state_dict().items():
        same = torch.equal(weights, other.net.state_dict()[name])
        assert same == (not name.startswith("fuse.")), name

    progress = model.progress_episode(held_out[0])
    assert progress.shape == (len(held_out[0]),) and np.isfinite(progress).all()
    model.save(tmp_path / "reward")
    from workbench.rewards.perceptual import model as perceptual_model

    def no_scene(*args, **kwargs):
        raise AssertionError("loading an artifact looked the scene up")

    with pytest.MonkeyPatch.context() as patch:  # the artifact is self-contained
        patch.setattr(perceptual_model, "state_layout", no_scene)
        loaded = PerceptualProgressModel.load(tmp_path / "reward")
    np.testing.assert_array_equal(loaded.progress_episode(held_out[0]), progress)


def test_pretraining_says_what_it_cannot_do(reach_takes):
    with pytest.raises(ValueError, match="reference_frame=False"):
        fit_perceptual_progress(reach_takes[:1], "Reach", config=PerceptualConfig(
            cameras=NEAR, pretrain=8, reference_frame=True))
    with pytest.raises(ValueError, match="cannot scatter"):
        scattered_frames("WalkerRun", CAMERAS, 2, 32, seed=0)


def test_a_cabinet_scatters_its_part_from_shut_to_past_open_with_the_hand_sometimes_on_it():
    from workbench.rewards.perceptual.pretrain import state_layout

    frames, states = scattered_frames("DrawerOpen", ("side", "top"), 40, 32, seed=2)
    layout = state_layout("DrawerOpen")
    at = {name: sum(list(layout.values())[:i]) for i, name in enumerate(layout)}
    opening = states[:, at["opening"]]
    gap = np.linalg.norm(states[:, at["hand_to_handle"] : at["hand_to_handle"] + 3], axis=1)
    assert opening.min() < 0.3 and opening.max() > 1.0  # shut to past open (1 = open)
    assert 0.05 < (gap < 0.03).mean() < 0.7  # the hand at the handle in some, not in most
    assert len({f.tobytes() for f in frames}) == len(frames)


def test_push_scatters_at_pushing_height_with_the_cube_sometimes_on_the_pad():
    from workbench.rewards.perceptual.pretrain import state_layout

    _, states = scattered_frames("Push", CAMERAS, 30, 32, seed=1)
    layout = state_layout("Push")
    at = {name: sum(list(layout.values())[:i]) for i, name in enumerate(layout)}
    hand = states[:, at["ee_pos"] : at["ee_pos"] + 3]
    to_pad = np.linalg.norm(states[:, at["cube_to_target"] : at["cube_to_target"] + 2], axis=1)
    assert np.ptp(hand[:, 2]) < 0.02 and hand[:, :2].std(0).min() > 0.02
    assert 0.05 < (to_pad < 0.03).mean() < 0.6  # on the pad in some, not in most
