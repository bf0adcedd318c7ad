"""Training on a frame reward through a state student (workbench.rl.distill): what is rendered,
what scores each step, when it falls back to the frame reward, and exact resume."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from workbench.envs import make_env
from workbench.envs.frames import RenderedFrames
from workbench.rewards.perceptual import PerceptualConfig, PerceptualProgressModel
from workbench.rl.distill import (
    GOAL_CODE,
    DistillConfig,
    DistilledFrameReward,
    StateStudent,
    sentence_code,
)
from workbench.rl.ppo import PPOConfig, make_vector_env, train_ppo
from workbench.rl.reward_wrapper import reached

CAMERAS = ("front",)
SIZE = 24


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)  # untrained, but a fixed function of the frames, hence of the state
    return PerceptualProgressModel("Reach", PerceptualConfig(
        cameras=CAMERAS, image_size=SIZE, channels=4, feature_dim=8, hidden=16, pretrain=0),
        device="cpu")


class Negated:
    """The same teacher turned upside down: a reward that changed under the student."""

    def __init__(self, model):
        self.model, self.cameras = model, model.cameras

    def score(self, frames):
        return -self.model.score(frames)


def distilled(teacher, config: DistillConfig, num_envs: int = 4) -> DistilledFrameReward:
    envs = make_vector_env("workbench/Reach-v0", num_envs,
                           wrap=lambda env: RenderedFrames(env, CAMERAS, SIZE))
    return DistilledFrameReward(envs, teacher, config=config)


def roll(envs, steps: int, rng) -> tuple[np.ndarray, list[tuple]]:
    """Random actions for ``steps``; which envs rendered, and (reward, states reached) pairs."""
    rendered, transitions = [], []
    for _ in range(steps):
        actions = rng.uniform(-1, 1, (envs.num_envs, *envs.single_action_space.shape))
        obs, reward, _, _, info = envs.step(actions)
        rendered.append(info.get("_frames", np.zeros(envs.num_envs, bool)))
        transitions.append((reward, reached(obs, info)[0]))
    return np.array(rendered), transitions


def test_frames_are_scored_first_then_the_student_scores_every_step_rendering_a_share(teacher):
    envs = distilled(teacher, DistillConfig(render_fraction=0.25, min_agreement=-1.0))
    rng = np.random.default_rng(0)
    envs.reset(seed=0)
    rendered, _ = roll(envs, 64, rng)
    assert rendered.all() and envs.direct  # no student yet: every step rendered and scored
    record = envs.refit()
    assert record["distill/rendered"] == 1.0 and "distill/agreement" not in record
    assert envs.direct  # fitted, but not yet measured on states it has not seen
    roll(envs, 64, rng)
    record = envs.refit()
    assert "distill/agreement" in record and not envs.direct  # measured, and over -1
    rendered, transitions = roll(envs, 200, rng)
    assert 0.15 < rendered.mean() < 0.35  # the configured share, not every step
    for reward, states in transitions:  # the progress transform of the student's score
        np.testing.assert_allclose(reward, envs.student.score(states))
    labels = len(envs._targets)
    record = envs.refit()  # the rendered states were scored by the teacher and became labels
    assert len(envs._targets) == labels + rendered.sum()
    assert record["distill/rendered"] == pytest.approx(rendered.mean())
    envs.close()


def test_when_the_student_disagrees_the_next_update_scores_frames_until_it_agrees_again(teacher):
    envs = distilled(teacher, DistillConfig(render_fraction=0.25, min_agreement=0.0,
                                            agreement_updates=1, labels=256, fit_steps=300))
    rng = np.random.default_rng(1)
    envs.reset(seed=1)
    for _ in range(3):
        roll(envs, 64, rng)
        envs.refit()
    assert not envs.direct and envs.agreement > 0.0
    envs.model = Negated(teacher)  # the reward the student learned is no longer the reward
    roll(envs, 64, rng)
    record = envs.refit()
    assert record["distill/agreement"] < 0.0 and envs.direct
    rendered, transitions = roll(envs, 64, rng)
    assert rendered.all()  # direct: every step rendered and scored by the (new) teacher
    assert all(np.all(reward <= 0) for reward, _ in transitions)  # the negated scores
    envs.refit()  # refitted on a full update of the new labels
    roll(envs, 64, rng)
    envs.refit()
    assert envs.agreement > 0.0 and not envs.direct
    envs.close()


@pytest.mark.parametrize("probe", ["off", "on"])
def test_a_stopped_distilled_run_resumes_to_the_uninterrupted_result(probe, request, tmp_path):
    torch.set_num_threads(1)
    config = PPOConfig(num_envs=4, rollout_steps=32, total_steps=7 * 128, seed=2)
    distill = DistillConfig(render_fraction=0.25, min_agreement=-1.0, fit_steps=20,
                            refit_probe=probe, probe_anchors=16)
    # Each run refits its own copy of the probe, as each run loads its own model.
    teacher = request.getfixturevalue("reader" if probe == "on" else "teacher")

    def run(callbacks=(), checkpoint=None, resume=False):
        envs = distilled(copy.deepcopy(teacher), distill)
        policy = train_ppo(envs, config, callbacks=(envs.callback(), *callbacks),
                           checkpoint=checkpoint, checkpoint_every=100, resume=resume)
        envs.close()
        return torch.cat([p.flatten() for p in policy.state_dict().values()]), envs

    reference, uninterrupted = run()

    def stop_in_four(progress):
        assert progress.extras["distill/direct"] == float(progress.update < 2)
        return progress.update != 4

    _, stopped = run((stop_in_four,), tmp_path / "run.ckpt")
    assert len(stopped._targets) < len(uninterrupted._targets)
    resumed, envs = run(checkpoint=tmp_path / "run.ckpt", resume=True)
    assert torch.equal(resumed, reference)
    np.testing.assert_array_equal(envs._targets, uninterrupted._targets)
    for a, b in zip(envs.student.net.parameters(), uninterrupted.student.net.parameters(),
                    strict=True):
        assert torch.equal(a, b)
    if probe == "on":  # the refitted probe, and what it was refitted on, carried over
        assert torch.equal(envs.model.net.probe.weight, uninterrupted.model.net.probe.weight)
        np.testing.assert_array_equal(envs._label_features, uninterrupted._label_features)


class BluePaysMore:
    """A goal-conditioned teacher: the frames' score, 1 higher towards the blue pad. PushChoice
    observes the named pad's position, not its colour, so only the sentence tells them apart."""

    goal_conditioned = True

    def __init__(self, model):
        self.model, self.cameras = model, model.cameras

    def score(self, frames, goals=None):
        blue = [goal is not None and "blue" in goal for goal in
                (goals if goals is not None else [None] * len(frames))]
        return self.model.score(frames) + np.asarray(blue, float)


def test_the_student_of_a_goal_conditioned_teacher_reads_each_episode_s_sentence(teacher):
    envs = make_vector_env(
        "workbench/PushChoice-v0", 4,
        {"goal": "push the cube onto the green pad", "draw_choices": True},
        wrap=lambda env: RenderedFrames(env, CAMERAS, SIZE))
    envs = DistilledFrameReward(envs, BluePaysMore(teacher), config=DistillConfig(
        render_fraction=0.25, min_agreement=-1.0, fit_steps=300))
    rng = np.random.default_rng(2)
    envs.reset(seed=2)
    for _ in range(3):
        roll(envs, 64, rng)
        envs.refit()
    assert not envs.direct
    codes = {sentence_code(f"push the cube onto the {c} pad").tobytes(): c
             for c in ("green", "blue")}
    named = [codes[row.tobytes()] for row in envs._labels[:, -GOAL_CODE:]]
    assert {"green", "blue"} <= set(named)  # the envs drew both pads and said which
    states = envs._labels[:, :-GOAL_CODE]
    under = {c: envs._inputs(states, np.array([f"push the cube onto the {c} pad"] * len(states),
                                              dtype=object)) for c in ("green", "blue")}
    gap = envs.student.score(under["blue"]) - envs.student.score(under["green"])
    assert gap.mean() > 0.5  # the same states, 1 higher under the sentence naming blue
    _, transitions = roll(envs, 32, rng)  # the student scores every step with its sentence
    assert all(np.isfinite(reward).all() for reward, _ in transitions)
    envs.close()


def test_a_student_saved_with_other_inputs_is_refused_in_words():
    saved = StateStudent(obs_dim=5, hidden=8, seed=0).get_state()
    with pytest.raises(ValueError, match=f"reads 5 inputs, this version's {5 + GOAL_CODE}"):
        StateStudent(obs_dim=5 + GOAL_CODE, hidden=8, seed=0).set_state(saved)


def test_refitting_a_probe_the_reward_does_not_have_is_refused_in_words(teacher):
    with pytest.raises(ValueError, match=r"^distill.refit_probe: 'on' needs .* pretrained probe"):
        distilled(teacher, DistillConfig(refit_probe="on"), num_envs=1)


def test_only_rewards_over_frames_are_distilled():
    class OverStates:
        def score(self, states):
            return states[:, 0]

    with pytest.raises(ValueError, match="camera frames"):
        DistilledFrameReward(make_vector_env("workbench/Reach-v0", 1), OverStates())


def probe_reader(precision: str = "float32") -> PerceptualProgressModel:
    """A teacher that reads Reach's state through a (briefly) pretrained probe, its
    convolutions in float32 or in bfloat16 (what CUDA runs by default)."""
    torch.manual_seed(0)
    return PerceptualProgressModel("Reach", PerceptualConfig(
        cameras=CAMERAS, image_size=SIZE, channels=4, feature_dim=8, hidden=16, pretrain=48,
        pretrain_steps=10, precision=precision), device="cpu")


@pytest.fixture(scope="module")
def reader():
    return probe_reader()


def test_rendered_steps_carry_the_state_their_frames_show_when_asked():
    framed = RenderedFrames(make_env("Reach"), CAMERAS, SIZE)
    _, info = framed.reset(seed=0)
    assert "frames" in info and "seen_state" not in info  # only a probe's refit needs it
    framed.label_states = True
    _, _, _, _, info = framed.step(framed.action_space.sample())
    np.testing.assert_array_equal(info["seen_state"], framed.base.seen_state_vector())
    framed.render_next = False
    _, _, _, _, info = framed.step(framed.action_space.sample())
    assert "frames" not in info and "seen_state" not in info
    framed.close()


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_the_probe_is_refitted_on_rendered_states_and_the_labels_scored_again(precision):
    reader = probe_reader(precision)
    assert reader.net.encoder.precision == (torch.bfloat16 if precision == "bfloat16" else None)
    envs = distilled(reader, DistillConfig(render_fraction=0.5, min_agreement=-1.0,
                                           refit_probe="on", probe_anchors=32))
    with torch.no_grad():
        reader.net.probe.weight.zero_()  # a probe that reads every frame as the mean layout
    rng = np.random.default_rng(3)
    envs.reset(seed=3)
    roll(envs, 48, rng)
    first = envs.refit()
    roll(envs, 48, rng)
    second = envs.refit()
    # Refitted on the states rendered in the first update, the probe reads the next update's
    # (new to it) far better than it read the first's.
    assert second["distill/probe_error"] < 0.5 * first["distill/probe_error"]
    # Every label is the refitted teacher's score: encoded once, scored as frames would be.
    assert len(envs._label_features) == len(envs._targets)
    frames = np.stack(envs.vector.call("frames"))
    np.testing.assert_allclose(reader.score_encoded(reader.encode(frames)),
                               reader.score(frames), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(envs._targets, reader.score_encoded(envs._label_features))
    envs.close()
