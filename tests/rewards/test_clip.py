"""The CLIP goal reward end to end on a tiny CLIP the test builds, trains briefly and saves:
load from a local folder, encode text and frames, score with the goal-baseline projection."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from workbench.rewards.language.clip import ClipGoalReward

WORDS = ["a", "red", "blue", "square", "on", "black", "background", "an", "empty", "image"]


def tiny_clip(folder):
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = ["<|startoftext|>", "<|endoftext|>", *letters, *(f"{c}</w>" for c in letters),
             *(f"{w}</w>" for w in WORDS)]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    # Merges that rebuild each known word from its letters, so words are single tokens.
    merges = ["#version: 0.2"]
    for word in WORDS:
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            merges.append(f"{pieces[0]} {pieces[1]}")
            pieces = [pieces[0] + pieces[1], *pieces[2:]]
    vocab_index = {t: i for i, t in enumerate(vocab)}
    extra = [m.replace(" ", "") for m in merges[1:] if m.replace(" ", "") not in vocab_index]
    vocab += list(dict.fromkeys(extra))
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("\n".join(dict.fromkeys(merges)) + "\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    config = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 2,
                     "max_position_embeddings": 16, "eos_token_id": 1, "bos_token_id": 0,
                     "pad_token_id": 1},
        vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32,
                       "intermediate_size": 64, "num_hidden_layers": 2,
                       "num_attention_heads": 2},
        projection_dim=16,
    )
    torch.manual_seed(0)
    return CLIPModel(config), tokenizer


def squares(colour: str, n: int, rng) -> np.ndarray:
    frames = np.zeros((n, 48, 48, 3), np.uint8)
    channel = 0 if colour == "red" else 2
    for i in range(n):
        x, y = rng.integers(0, 28, size=2)
        frames[i, y : y + 20, x : x + 20, channel] = 255
    return frames


def test_tiny_clip_loads_from_a_folder_encodes_and_scores_goals(tmp_path):
    model, tokenizer = tiny_clip(tmp_path)
    rng = np.random.default_rng(0)
    # A short contrastive fit, so the scores mean something: red squares vs blue squares.
    texts = ["a red square", "a blue square"]
    tokens = tokenizer(texts, padding=True, return_tensors="pt")
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    reward = ClipGoalReward(model, tokenizer, torch.device("cpu"))
    for _ in range(60):
        frames = np.concatenate([squares("red", 8, rng), squares("blue", 8, rng)])
        model.train()
        images = reward_pixels(reward, frames)
        out = model(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"],
                    pixel_values=images)
        labels = torch.tensor([0] * 8 + [1] * 8)
        loss = F.cross_entropy(out.logits_per_image, labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)

    loaded = ClipGoalReward.load(tmp_path, device="cpu")
    with pytest.raises(RuntimeError, match="set_goal"):
        loaded.score(squares("red", 2, rng))
    loaded.set_goal("a red square", "a square on a black background", alpha=0.5)
    red, blue = squares("red", 16, rng), squares("blue", 16, rng)
    red_scores, blue_scores = loaded.score(red), loaded.score(blue)
    assert red_scores.shape == (16,) and np.isfinite(red_scores).all()
    assert (red_scores[:, None] > blue_scores[None, :]).mean() >= 0.9
    # The projection: alpha = 0 is plain distance to the goal embedding.
    loaded.set_goal("a red square", "a blue square", alpha=0.0)
    x = loaded.embed_images(red[:4])
    expected = 1 - 0.5 * (x - loaded.goal).pow(2).sum(-1)
    np.testing.assert_allclose(loaded.score(red[:4]), expected.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="alpha"):
        loaded.set_goal("a red square", "a blue square", alpha=2.0)


def reward_pixels(reward: ClipGoalReward, frames: np.ndarray) -> torch.Tensor:
    """The same preprocessing the reward applies, with gradients (for the test's fit)."""
    from workbench.rewards.language.clip import CLIP_MEAN, CLIP_STD

    x = torch.as_tensor(frames).permute(0, 3, 1, 2).float() / 255.0
    x = F.interpolate(x, size=(reward.image_size, reward.image_size), mode="bicubic",
                      align_corners=False).clamp(0, 1)
    return (x - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)


def test_a_missing_checkpoint_says_nothing_is_downloaded(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        ClipGoalReward.load(tmp_path / "nowhere")


def saved_tiny_clip(folder):
    """An untrained tiny CLIP saved as a person would keep a checkpoint: a fixed function."""
    folder.mkdir(parents=True, exist_ok=True)
    model, tokenizer = tiny_clip(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_the_clip_family_is_measured_in_a_workspace_stored_and_trains_a_policy(workspace,
                                                                               tmp_path):
    from workbench.envs.replay import with_frames
    from workbench.rewards import families
    from workbench.rewards.artifact import ArtifactError, load_reward_model
    from workbench.rl.ppo import PPOConfig
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig
    from workbench.teleop.recorder import record_demo_set

    weights = saved_tiny_clip(tmp_path / "clip")
    record_demo_set(workspace, "Reach", 1)
    workspace.add_goal("reach the target", "Reach")
    clip = families.get("clip")
    config, fit = replace(clip.default_config("Reach"), image_size=32), clip.fit_function()
    with pytest.raises(ValueError, match="^weights: give the folder"):
        fit(workspace, "Reach", config)
    config = replace(config, weights=str(weights))
    model, report = fit(workspace, "Reach", config)
    assert report["train_demos"] == 1 and -1 <= report["spearman_progress"] <= 1
    assert "success_vs_failure" in report and model.config.goal == "reach the target"
    stored = workspace.models(scene="Reach")[-1]
    assert stored["family"] == "clip_goal"
    loaded = load_reward_model(stored["path"], device="cpu")  # no weights copied, none fetched
    episode = workspace.load_episode(workspace.episodes(scene="Reach")[0]["id"])
    episode = with_frames(episode, model.cameras, 32)
    np.testing.assert_allclose(loaded.progress_episode(episode), model.progress_episode(episode),
                               atol=1e-6)

    result = train_run(workspace, RunConfig(
        scene="Reach", reward="model", reward_model=stored["path"], goal="reach the target",
        eval_episodes=1,
        tensorboard=False, hacking_guard=False,
        ppo=PPOConfig(num_envs=2, rollout_steps=32, total_steps=128)))
    assert workspace.runs()[-1]["status"] == "finished" and result["reward"] == stored["path"]
    with pytest.raises(ValueError, match="goal sentence"):
        train_run(workspace, RunConfig(scene="Reach", reward="model",
                                       reward_model=stored["path"], eval_episodes=1,
                                       ppo=PPOConfig(num_envs=2, total_steps=64)))

    (weights / "model.safetensors").write_bytes(b"changed")  # the checkpoint under it changed
    with pytest.raises(ArtifactError, match="changed since"):
        load_reward_model(stored["path"], device="cpu")
