"""The learned vision-language progress reward: goal-conditioned, fitted on demos with their
goal texts and counterfactual goals; artifact round trip; clear errors."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.rewards.takes import CAMERAS, framed_takes
from workbench.registry import SCENES
from workbench.rewards import load_reward_model
from workbench.rewards.artifact import ArtifactError
from workbench.rewards.metrics import progress_spearman
from workbench.rewards.perceptual import PerceptualConfig
from workbench.rewards.vision_language import (
    VisionLanguageConfig,
    VisionLanguageProgressModel,
    counterfactual_goals,
    fit_vision_language,
)


@pytest.fixture(scope="module")
def push_takes(tmp_path_factory):
    from workbench.data.workspace import Workspace

    workspace = Workspace.open(tmp_path_factory.mktemp("vision_language"), create=True)
    yield framed_takes(workspace, "Push", 8)
    workspace.close()


def test_counterfactual_goals_name_another_colour_or_object():
    rng = np.random.default_rng(0)
    push = SCENES.load("Push").vocabulary
    goals = counterfactual_goals("push the red cube onto the green pad", push, 3, rng)
    assert len(goals) == 3 and len(set(goals)) == 3
    for goal in goals:
        assert goal != "push the red cube onto the green pad"
        changed = [a for a, b in zip(goal.split(), "push the red cube onto the green pad".split(),
                                     strict=True) if a != b]
        assert len(changed) == 1 and changed[0] in push.colours  # one colour word swapped
    drawer = SCENES.load("DrawerOpen").vocabulary
    assert counterfactual_goals("xyz", drawer, 2, rng) == []  # nothing to swap: no negatives
    # Where the sentence chooses among things present together, only that choice is swapped.
    swapped = counterfactual_goals("push the red cube onto the green pad", push, 3, rng,
                                   choices=("green", "blue"))
    assert swapped == ["push the red cube onto the blue pad"]


def test_what_the_goal_does_not_name_is_shuffled_between_frames():
    from workbench.rewards.vision_language.fit import shuffled, unnamed_relations

    names = ["hand_to_cube length", "cube_to_green_pad length", "cube_to_blue_pad length",
             "gripper"]
    mask = unnamed_relations(names, ["push the cube onto the green pad",
                                     "push the red cube onto the blue pad"], ("green", "blue"))
    assert mask.tolist() == [[False, False, True, False], [False, True, False, False]]
    seen = torch.arange(40.0).view(10, 4)
    rows = mask[torch.tensor([0] * 10)]  # every frame under the green pad's goal
    out = shuffled(seen, rows, torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(out[:, [0, 1, 3]], seen[:, [0, 1, 3]])  # named: kept
    assert sorted(out[:, 2].tolist()) == seen[:, 2].tolist()  # the blue pad's: from other rows
    assert not torch.equal(out[:, 2], seen[:, 2])


def test_a_vision_language_reward_reads_positions_where_the_sentence_chooses_between_things():
    from workbench.rewards.workflow import vision_language_defaults

    choice, push = vision_language_defaults("PushChoice"), vision_language_defaults("Push")
    assert choice.frames.pretrain > 0 and choice.frames.success_head
    assert choice.frames.hindsight > 0  # the success radius shown wherever a take went
    assert push.frames.pretrain == 0 and push.frames.hindsight == 0  # pixels needed


def test_pushchoice_shows_its_pads_by_colour_whichever_the_sentence_names():
    from workbench.envs import make_env
    from workbench.rewards.perceptual.pretrain import state_layout

    assert "target_pos" not in state_layout("PushChoice")  # a frame cannot show the choice
    env = make_env("PushChoice")
    try:
        for colour, other in (("blue", "green"), ("green", "blue")):
            env.set_goal(f"push the cube onto the {colour} pad")
            env.reset(seed=4)
            seen = dict(zip(env.seen_features(), np.split(
                env.seen_state_vector(), np.cumsum(list(env.seen_features().values()))[:-1]),
                strict=True))
            observed = env.task.observe(env.physics)
            np.testing.assert_allclose(seen[f"{colour}_pad_pos"], observed["target_pos"])
            np.testing.assert_allclose(seen[f"{other}_pad_pos"], observed["other_pad_pos"])
            np.testing.assert_allclose(seen[f"cube_to_{colour}_pad"],
                                       observed["cube_to_target"], atol=1e-6)
            rgba = env.physics.model.geom_rgba[env.physics.model.geom("target").id]
            assert rgba[2] > rgba[1] if colour == "blue" else rgba[1] > rgba[2]  # it looks so
    finally:
        env.close()


def test_a_pretrained_vision_language_fit_trains_the_goal_heads_only(tmp_path):
    from workbench.data.workspace import Workspace
    from workbench.rewards.perceptual import model as perceptual_model

    workspace = Workspace.open(tmp_path / "ws", create=True)
    takes = framed_takes(workspace, "PushChoice", 2)
    workspace.close()
    config = VisionLanguageConfig(frames=PerceptualConfig(
        cameras=CAMERAS, pretrain=48, pretrain_steps=10, channels=8, epochs=2,
        colour_jitter=0.0, heights=False, success_head=True, hindsight=4))
    model = fit_vision_language(takes[:1], "PushChoice", takes[1:], config=config)
    other = fit_vision_language(takes[1:], "PushChoice", config=config)
    for name, weights in model.net.state_dict().items():  # one pretrained encoder, kept
        same = torch.equal(weights, other.net.state_dict()[name])
        assert same == (not name.startswith(("fuse.", "film.", "head."))), name
    assert model.net.head[-1].out_features == 2  # time and achieved
    assert "cube_to_green_pad length" in model.metrics["relation_error"]

    with pytest.raises(ValueError, match="success_head=True"):
        fit_vision_language(takes[:1], "PushChoice", config=replace(
            config, frames=replace(config.frames, success_head=False)))

    progress = model.progress_episode(takes[0])
    assert progress.shape == (len(takes[0]),) and ((progress >= 0) & (progress <= 1)).all()
    model.save(tmp_path / "vl")

    def no_scene(*args, **kwargs):
        raise AssertionError("loading an artifact looked the scene up")

    with pytest.MonkeyPatch.context() as patch:  # the artifact carries its layout
        patch.setattr(perceptual_model, "state_layout", no_scene)
        loaded = load_reward_model(tmp_path / "vl", device="cpu")
    np.testing.assert_array_equal(loaded.progress_episode(takes[0]), progress)


def test_the_reward_reads_the_goal_sentence(push_takes, tmp_path):
    # Held out: takes whose cube colour some demo showed. A colour no demo showed is not
    # learnable from a few demos without a pretrained vision-language model (BENCHMARKS.md).
    demos = push_takes[:4]
    seen = {d.meta["goal"] for d in demos}
    held_out = [e for e in push_takes[4:] if e.meta["goal"] in seen]
    assert len(held_out) >= 2
    config = VisionLanguageConfig(frames=PerceptualConfig(cameras=CAMERAS, epochs=40,
                                                          colour_jitter=0.0))
    model = fit_vision_language(demos, "Push", config=config)
    assert progress_spearman(model, held_out) > 0.7  # under each episode's own goal

    vocabulary = SCENES.load("Push").vocabulary
    rng = np.random.default_rng(1)
    margins = []
    for episode in held_out:
        own = model.progress_episode(episode)[-5:].mean()
        for other in counterfactual_goals(episode.meta["goal"], vocabulary, 2, rng):
            margins.append(own - model.progress_episode(episode, other)[-5:].mean())
    assert np.mean(np.array(margins) > 0) >= 0.75, margins  # the achieved goal scores higher

    # Bound to a run's sentence, each row may name its own episode's sentence instead.
    frames = model.frames_of(held_out[0])[:6]
    own, other = held_out[0].meta["goal"], counterfactual_goals(
        held_out[0].meta["goal"], vocabulary, 1, rng)[0]
    goals = np.array([own, other, None, other, own, None], dtype=object)
    expected = [model.progress(frames[i : i + 1], g or other)[0] for i, g in enumerate(goals)]
    np.testing.assert_allclose(model.for_goal(other).score(frames, goals), expected, atol=1e-6)

    model.save(tmp_path / "vl")
    loaded = load_reward_model(tmp_path / "vl", device="cpu")
    assert isinstance(loaded, VisionLanguageProgressModel) and loaded.config == config
    np.testing.assert_array_equal(loaded.progress_episode(held_out[0]),
                                  model.progress_episode(held_out[0]))
    header = json.loads((tmp_path / "vl" / "config.json").read_text())
    del header["scene"]
    (tmp_path / "vl" / "config.json").write_text(json.dumps(header))
    with pytest.raises(ArtifactError, match="incomplete or invalid"):
        load_reward_model(tmp_path / "vl")


def test_missing_goals_and_frames_say_what_to_do(push_takes):
    model = VisionLanguageProgressModel("Push", VisionLanguageConfig(
        frames=PerceptualConfig(cameras=("side",))))
    with pytest.raises(ValueError, match="render them from its states"):
        model.progress_episode(push_takes[0])
    with pytest.raises(ValueError, match="at least one demonstration"):
        fit_vision_language([], "Push")
