"""Preference rewards: Bradley-Terry and Plackett-Luce ensembles, teachers, active queries."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from workbench.config import ConfigError
from workbench.data import Workspace
from workbench.data.segments import SegmentCache
from workbench.envs import make_env
from workbench.feedback.active import pair_disagreement, select_queries
from workbench.feedback.labels import teach
from workbench.feedback.teachers import TEACHERS, Teacher
from workbench.rewards import load_reward_model
from workbench.rewards.preference import LabelledQuery, PreferenceConfig, fit_preference
from workbench.rewards.preference.config import with_scene_mirror
from workbench.rewards.preference.dataset import queries_from_workspace
from workbench.rewards.preference.fit import preference_accuracy
from workbench.rewards.workflow import fit_preference_in_workspace
from workbench.rl.online_reward import OnlineFeedbackConfig, OnlinePreference
from workbench.session.reward_models import report_text
from workbench.sim.mirror import Mirror
from workbench.teleop.recorder import random_policy, record_policy_episodes, scripted_policy


def toy_queries(n: int, rng, kind="pair", size=2, weights=(1.0, -2.0, 0.0)):
    """Segments of 3-d states whose true per-state reward is a linear function."""
    w = np.array(weights)
    queries = []
    for _ in range(n):
        segments = tuple(rng.normal(size=(10, 3)).astype(np.float32) + rng.normal(size=3)
                         for _ in range(size))
        returns = [float((s @ w).sum()) for s in segments]
        if kind == "pair":
            answer = "left" if returns[0] > returns[1] else "right"
        else:
            answer = [int(i) for i in np.argsort(-np.array(returns))]
        queries.append(LabelledQuery(segments, answer, kind))
    return queries


FEATURES = {"x": 3}


def test_bradley_terry_recovers_a_linear_reward():
    rng = np.random.default_rng(0)
    model = fit_preference(toy_queries(300, rng), "Toy", FEATURES, PreferenceConfig(epochs=60))
    assert preference_accuracy(model, toy_queries(200, np.random.default_rng(1))) >= 0.9
    states = np.random.default_rng(2).normal(size=(500, 3)).astype(np.float32)
    truth = states @ np.array([1.0, -2.0, 0.0])
    assert np.corrcoef(model.reward(states), truth)[0, 1] > 0.9


def test_temporal_crops_are_equal_windows_inside_each_segment():
    import torch

    from workbench.rewards.preference.fit import _cropped

    lengths = torch.tensor([[50, 50], [30, 44], [8, 8]])
    mask = (torch.arange(50)[None, None] < lengths[..., None]).float()
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        window = _cropped(mask, 0.6, generator)
        assert torch.all(window <= mask)  # never outside a segment (nor in its padding)
        sizes = window.sum(-1)
        assert torch.all(sizes[:, 0] == sizes[:, 1])  # both sides of a pair: one length
        shortest = lengths.min(-1).values.float()
        assert torch.all(sizes[:, 0] >= torch.round(0.6 * shortest))
        starts = window.argmax(-1)  # each window is one contiguous run
        assert torch.all(window.sum(-1) == torch.stack([
            window[q, n, starts[q, n]:starts[q, n] + int(sizes[q, n])].sum()
            for q in range(3) for n in range(2)]).reshape(3, 2))


def test_bradley_terry_with_temporal_crops_still_recovers_the_reward():
    rng = np.random.default_rng(0)
    model = fit_preference(toy_queries(300, rng), "Toy", FEATURES,
                           PreferenceConfig(epochs=60, crop=0.5))
    assert preference_accuracy(model, toy_queries(200, np.random.default_rng(1))) >= 0.9


def test_plackett_luce_learns_from_rankings_of_four():
    rng = np.random.default_rng(3)
    rankings = toy_queries(100, rng, kind="ranking", size=4)
    model = fit_preference(rankings, "Toy", FEATURES, PreferenceConfig(epochs=60))
    assert preference_accuracy(model, toy_queries(200, np.random.default_rng(4))) >= 0.9


def test_ties_and_skips_are_handled():
    rng = np.random.default_rng(5)
    same = rng.normal(size=(10, 3)).astype(np.float32)
    ties = [LabelledQuery((same, same + 1e-3), "equal")] * 50
    skips = [LabelledQuery((same, same), "skip")] * 5
    model = fit_preference([*ties, *skips], "Toy", FEATURES, PreferenceConfig(epochs=30))
    returns = [float(model.reward(s).sum()) for s in (same, same + 1e-3)]
    assert abs(returns[0] - returns[1]) < 0.5  # "equal" pulls the two returns together
    with pytest.raises(ValueError, match="no usable preference labels"):
        fit_preference(skips, "Toy", FEATURES)


def labelled_pairs(segment, truth, count: int = 60) -> list[LabelledQuery]:
    """``count`` pairs of ``segment()``'s, the one with the higher ``truth`` preferred."""
    queries = []
    for _ in range(count):
        pair = (segment().astype(np.float32), segment().astype(np.float32))
        queries.append(LabelledQuery(pair, "left" if truth(pair[0]) > truth(pair[1])
                                     else "right"))
    return queries


def test_a_declared_mirror_keeps_a_chance_correlation_out_of_the_reward(tmp_path):
    # The task pays for x0 alone and is symmetric under (x0, x1, x2) -> (x0, -x1, -x2); in
    # every labelled segment x1 equals x0, so the labels alone cannot tell the two apart (as
    # Pendulum's first labels cannot tell height from spinning one way).
    rng = np.random.default_rng(11)

    def confounded() -> np.ndarray:
        x0 = rng.normal(size=10) + rng.normal()
        return np.stack([x0, x0, rng.normal(size=10)], 1)

    queries = labelled_pairs(confounded, lambda segment: segment[:, 0].sum())
    x0 = rng.normal(size=400)
    unseen = np.stack([x0, -x0, rng.normal(size=400)], 1).astype(np.float32)  # x1 against x0
    mirror = np.array([1.0, -1.0, -1.0], np.float32)
    plain = fit_preference(queries, "Toy", FEATURES, PreferenceConfig(epochs=60))
    mirrored = fit_preference(queries, "Toy", FEATURES,
                              PreferenceConfig(epochs=60, mirror=(1, -1, -1)))
    # Unmirrored, the fit leans on x1 too (how much, and which way, is the initialisation's
    # luck), so a state and its mirror image earn different rewards.
    gap = np.abs(plain.reward(unseen) - plain.reward(unseen * mirror))
    assert gap.mean() > 0.3 * plain.reward(unseen).std()
    assert np.corrcoef(mirrored.reward(unseen), x0)[0, 1] > 0.9
    np.testing.assert_allclose(mirrored.reward(unseen), mirrored.reward(unseen * mirror),
                               atol=1e-5)
    mirrored.save(tmp_path / "mirrored")  # the symmetry is part of the saved reward
    loaded = load_reward_model(tmp_path / "mirrored")
    np.testing.assert_allclose(loaded.reward(unseen), mirrored.reward(unseen), atol=1e-6)
    too_few = PreferenceConfig(mirror=(1, -1))
    with pytest.raises(ValueError, match="mirror has 2 signs, but the observations have 3"):
        fit_preference(queries, "Toy", FEATURES, too_few)
    with pytest.raises(ValueError, match="mirror has 2 signs"):  # before training, not after
        OnlinePreference("Toy", FEATURES, OnlineFeedbackConfig(preference=too_few))


def test_a_mirror_that_swaps_inputs_pays_both_legs_alike(tmp_path):
    # Two legs' lifts (x0, x1) and a lean (x2) that flips: the task pays the legs' sum, and
    # the labels show the left leg (x0) always lifted higher, so alone they would pay x0 more.
    rng = np.random.default_rng(12)

    def left_higher() -> np.ndarray:
        right = rng.normal(size=10) + rng.normal()
        return np.stack([right + 1.0, right, rng.normal(size=10)], 1)

    queries = labelled_pairs(left_higher, lambda segment: segment[:, :2].sum())
    swap = Mirror((1.0, 1.0, -1.0), (1, 0, 2))
    config = PreferenceConfig(epochs=60, mirror=swap.signs, mirror_order=swap.order)
    model = fit_preference(queries, "Toy", FEATURES, config)
    unseen = rng.normal(size=(400, 3)).astype(np.float32)
    np.testing.assert_allclose(model.reward(unseen), model.reward(swap.apply(unseen)),
                               atol=1e-5)
    assert not np.allclose(model.reward(unseen), model.reward(unseen * swap.signs), atol=1e-2)
    model.save(tmp_path / "swapped")
    loaded = load_reward_model(tmp_path / "swapped")
    np.testing.assert_allclose(loaded.reward(swap.apply(unseen)), model.reward(unseen),
                               atol=1e-5)
    for wrong, message in (({"mirror_order": (1, 0, 2)}, "mirror_order needs mirror"),
                           ({"mirror": (1, 1, 1), "mirror_order": (1, 1, 2)},
                            "mirror_order must name each input 0..2 once")):
        with pytest.raises(ValueError, match=message):
            fit_preference(queries, "Toy", FEATURES, PreferenceConfig(**wrong))
    # A legged scene declares its swap; the config keeps plain numbers (saved as JSON).
    walk = with_scene_mirror(PreferenceConfig(scene_mirror=True), make_env("Walk").mirror(),
                             "Walk with walker")
    assert walk.mirror == (1.0,) * 25 and walk.mirror_order[2:6] == (8, 9, 10, 11)
    for alone in ({"mirror": (1.0,) * 25}, {"mirror_order": tuple(range(25))}):
        with pytest.raises(ValueError, match=r"scene_mirror disagree .* 25 signs, entries swapped"):
            with_scene_mirror(PreferenceConfig(scene_mirror=True, **alone),
                              make_env("Walk").mirror(), "Walk with walker")
    assert with_scene_mirror(walk, make_env("Walk").mirror(), "Walk") == walk  # its own: kept


def test_ensemble_members_disagree_more_off_the_labelled_data():
    rng = np.random.default_rng(6)
    model = fit_preference(toy_queries(200, rng), "Toy", FEATURES, PreferenceConfig(members=5))
    near = rng.normal(size=(200, 3)).astype(np.float32)
    far = near + 25.0
    assert model.disagreement(far).mean() > 3 * model.disagreement(near).mean()


def test_active_selection_picks_the_most_disputed_pairs():
    rng = np.random.default_rng(7)
    model = fit_preference(toy_queries(100, rng), "Toy", FEATURES, PreferenceConfig(members=5))
    near = [(rng.normal(size=(10, 3)), rng.normal(size=(10, 3))) for _ in range(20)]
    far = [(rng.normal(size=(10, 3)) + 30, rng.normal(size=(10, 3)) - 30) for _ in range(5)]
    pairs = [(a.astype(np.float32), b.astype(np.float32)) for a, b in near + far]
    scores = pair_disagreement(model, pairs)
    assert scores.shape == (25,)
    # Candidates are (segment, segment) handles; states_of turns a handle into states.
    candidates = [((i, 0), (i, 1)) for i in range(25)]
    chosen = select_queries(model, candidates, lambda handle: pairs[handle[0]][handle[1]], 5)
    assert {a[0] for a, _ in chosen} == set(range(20, 25))  # the far, disputed pairs
    assert select_queries(None, candidates, None, 3) == candidates[:3]  # no model: as sampled


def test_disagreement_stays_finite_when_segment_returns_differ_by_thousands():
    class Ensemble:  # locomotion-sized returns: members 100 per step apart, one disagreeing
        def member_rewards(self, states):
            return np.stack([100 * states[:, 0], 90 * states[:, 0], -50 * states[:, 0]])

    ahead, behind = np.full((50, 1), 10.0), np.full((50, 1), -10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would raise here
        scores = pair_disagreement(Ensemble(), [(ahead, behind), (behind, behind)])
    np.testing.assert_allclose(scores, [np.std([1.0, 1.0, 0.0]), 0.0])


def test_teachers_follow_b_pref():
    rng = np.random.default_rng(8)
    good, bad = np.full(10, 1.0), np.full(10, 0.2)
    assert TEACHERS["oracle"].answer(good, bad, rng) == "left"
    assert TEACHERS["oracle"].answer(bad, good, rng) == "right"
    flips = [TEACHERS["mistake"].answer(good, bad, rng) for _ in range(2000)]
    assert 0.07 < flips.count("right") / 2000 < 0.13  # epsilon = 0.1
    stoc = Teacher("stoc", beta=1.0)
    close = [stoc.answer(np.full(10, 0.51), np.full(10, 0.5), rng) for _ in range(2000)]
    p_left = 1 / (1 + math.exp(-0.1))
    assert abs(close.count("left") / 2000 - p_left) < 0.04  # Boltzmann-rational
    assert TEACHERS["skip"].answer(np.zeros(10), np.full(10, 0.05), rng, scale=10) == "skip"
    assert TEACHERS["equal"].answer(good, good + 0.05, rng, scale=10) == "equal"
    # Myopic: weighs the end of a segment more, so a late surge beats an early one.
    early, late = np.r_[np.ones(5), np.zeros(5)], np.r_[np.zeros(5), np.ones(5)]
    assert TEACHERS["oracle"].answer(early, late, rng) == "equal"
    assert TEACHERS["myopic"].answer(early, late, rng) == "right"
    assert TEACHERS["oracle"].rank([bad, good, np.full(10, 0.5)], rng) == [1, 2, 0]


@pytest.fixture(scope="module")
def taught(tmp_path_factory):
    ws = Workspace.open(tmp_path_factory.mktemp("pref") / "ws", create=True)
    env = make_env("Push")
    record_policy_episodes(env, ws, scripted_policy(env, 0), 8, "scripted", 0)
    record_policy_episodes(env, ws, scripted_policy(env, 1, perturbed=True), 8, "perturbed", 100)
    record_policy_episodes(env, ws, random_policy(env, 2), 8, "random", 200)
    teach(ws, "Push", TEACHERS["oracle"], 250, np.random.default_rng(0))
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def fitted(taught):
    """The preference model of the 250 oracle labels (a fixture: each test may run alone)."""
    return fit_preference_in_workspace(taught, "Push", PreferenceConfig())


def test_preferences_from_an_oracle_on_push_generalise(taught, fitted):
    model, report = fitted
    assert report["train_labels"] + report["held_out_labels"] == 250
    assert report["preference_accuracy"] >= 0.75
    loaded = load_reward_model(report["path"])
    states = taught.load_episode(1)["state"]
    np.testing.assert_array_equal(loaded.score(states), model.score(states))
    assert loaded.config.members == 3


def test_the_scenes_mirror_comes_from_the_recorded_robot_and_stays_with_the_reward(taught):
    model, report = fit_preference_in_workspace(
        taught, "Push", PreferenceConfig(epochs=20, scene_mirror=True))
    mirror = make_env("Push").mirror()  # arm6: yaw, roll and tilt flip (angle, speed), and
    signs = mirror.signs
    assert model.config.mirror == signs and signs.count(-1.0) == 2 * 3 + 6  # 6 points' y
    assert model.config.mirror_order == ()  # an arm on the plane: every joint its own twin
    stored = taught.models(scene="Push")[-1]
    assert stored["metrics"]["mirror"] == "the scene's"  # the report says what it was told
    assert "told a mirror symmetry (the scene's)" in report_text(stored)
    states = taught.load_episode(1)["state"]
    np.testing.assert_allclose(model.reward(states), model.reward(states * signs), atol=1e-5)
    loaded = load_reward_model(report["path"])
    np.testing.assert_allclose(loaded.reward(states * signs), model.reward(states), atol=1e-5)
    with pytest.raises(ConfigError, match="mirror and scene_mirror disagree"):
        fit_preference_in_workspace(taught, "Push", PreferenceConfig(
            scene_mirror=True, mirror=(1.0,) * len(signs)))


def test_active_teaching_stores_labels_like_a_person(taught, fitted):
    model = load_reward_model(fitted[1]["path"])
    before = len(taught.preferences())
    ids = teach(taught, "Push", TEACHERS["mistake"], 10, np.random.default_rng(1), model=model)
    prefs = taught.preferences()
    assert len(prefs) == before + 10 and {p.teacher for p in prefs if p.id in ids} == {"mistake"}
    cache = SegmentCache(taught)
    assert all(len(cache.states(s)) == 20 for p in prefs for s in p.segments)
    assert len(queries_from_workspace(taught, teacher="mistake")) == 10
