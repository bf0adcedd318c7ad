"""Replaying a recorded episode shows what was recorded, including colours a sentence chose."""

from __future__ import annotations

import numpy as np

from workbench.data.episode import Episode
from workbench.data.workspace import Workspace
from workbench.envs.env import make_env
from workbench.envs.replay import with_frames
from workbench.teleop.recorder import record_policy_episodes, scripted_policy

SEEDS = range(500, 504)  # the seed's own draw names the green pad for some of these


class WithoutFrames(Episode):
    """The episode as a take recorded without cameras: frames must be rendered from states."""

    def keys(self) -> list[str]:
        return [k for k in super().keys() if not k.startswith("image/")]


def drawn_pads(seeds) -> list[str]:
    env = make_env("PushChoice")
    drawn = []
    for seed in seeds:
        env.reset(seed=seed)
        drawn.append(env.task.pad_colour)
    env.close()
    return drawn


def test_a_take_recorded_under_a_sentence_replays_in_its_own_colours(tmp_path):
    assert "green" in drawn_pads(SEEDS)  # else the request changed nothing to replay
    workspace = Workspace.open(tmp_path / "ws", create=True)
    env = make_env("PushChoice", goal="push the cube onto the blue pad")
    ids = record_policy_episodes(env, workspace, scripted_policy(env), len(SEEDS), "scripted",
                                 seed=SEEDS[0], image_cameras=("front",), image_size=48)
    env.close()
    for episode_id in ids:
        episode = workspace.load_episode(episode_id)
        assert episode.meta["meta"]["colours"]["pad"] == "blue"
        recorded = episode["image/front"]
        # Stored colours, and an episode from before they were stored (its goal text only).
        old_meta = {**episode.meta, "meta": {k: v for k, v in episode.meta["meta"].items()
                                             if k != "colours"}}
        for meta in (episode.meta, old_meta):
            rendered = with_frames(WithoutFrames(episode.id, episode.folder, meta),
                                   ("front",), 48)["image/front"]
            np.testing.assert_array_equal(rendered, recorded)
    workspace.close()


def test_only_colours_the_scene_draws_are_asked_for_again(tmp_path):
    from workbench.envs.replay import recorded_colours
    from workbench.registry import SCENES

    def episode(meta: dict, goal: str | None = None) -> Episode:
        return Episode(1, tmp_path, {"goal": goal, "meta": meta})

    choice, reach, push = (SCENES.load(name) for name in ("PushChoice", "Reach", "Push"))
    stored = {"cube": "red", "pad": "blue", "lid": "blue", "marker": "yellow"}
    assert recorded_colours(episode({"colours": stored}), choice) == {"cube": "red",
                                                                       "pad": "blue"}
    assert recorded_colours(episode({"colours": {"marker": "yellow"}}), reach) == {
        "marker": "yellow"}
    # Push's pad is always green: a stored colour it cannot take is not asked for again.
    assert recorded_colours(episode({"colours": {"cube": "red", "pad": "blue"}}), push) == {
        "cube": "red"}
    assert recorded_colours(episode({}, "push the purple cube onto the green pad"),
                            choice) == {"cube": "purple", "pad": "green"}
    assert recorded_colours(episode({}, None), choice) == {}


def test_cameras_a_take_lacks_are_rendered_at_the_size_of_those_it_recorded(tmp_path):
    """A take recorded with the front camera at 48 pixels, asked for front and top by a model
    of another size: top is rendered at 48 too, so the two stack (a model resizes both)."""
    from workbench.rewards.perceptual.config import PerceptualConfig
    from workbench.rewards.perceptual.model import PerceptualProgressModel

    workspace = Workspace.open(tmp_path / "ws", create=True)
    env = make_env("Push")
    (episode_id,) = record_policy_episodes(env, workspace, scripted_policy(env), 1, "scripted",
                                           seed=0, image_cameras=("front",), image_size=48)
    env.close()
    episode = with_frames(workspace.load_episode(episode_id), ("front", "top"), 32)
    assert episode["image/top"].shape == episode["image/front"].shape == (len(episode), 48, 48, 3)
    model = PerceptualProgressModel("Push", PerceptualConfig(cameras=("front", "top"),
                                                             image_size=32, pretrain=0),
                                    device="cpu")
    assert model.frames_of(episode).shape == (len(episode), 2, 48, 48, 3)
    workspace.close()
