"""Stage-aware progress: stage labels from replayed predicates or discovered steps, gated
progress, measured against ground truth; artifacts and errors."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.rewards import load_reward_model
from workbench.rewards.metrics import progress_spearman, success_failure_accuracy
from workbench.rewards.staged import (
    StagedConfig,
    discover_steps,
    fit_staged,
    stage_predicates,
    stage_times,
)
from workbench.rewards.staged.fit import staged_targets


def test_targets_give_each_stage_an_equal_share_of_progress():
    times = np.array([9, 14, 29])  # a long first stage, a short second one
    progress, done = staged_targets(times, 40)
    assert np.all(np.diff(progress) >= 0)
    np.testing.assert_allclose(progress[times], [1 / 3, 2 / 3, 1.0], atol=1e-6)
    assert np.all(progress[29:] == 1.0)
    assert done[9].tolist() == [1, 0, 0] and done[14].tolist() == [1, 1, 0]
    failed, _ = staged_targets(np.array([9, 40, 40]), 40, credit_time=False)
    assert set(np.unique(failed)) == {0.0, np.float32(1 / 3)}  # a failure earns its stages


def test_stage_times_are_cumulative_and_ordered():
    predicates = np.zeros((10, 3), bool)
    predicates[2, 0] = True  # reached, then left again
    predicates[1, 1] = True  # "grasped" before "reached" does not count...
    predicates[5, 1] = True  # ...this one does
    assert stage_times(predicates).tolist() == [2, 5, 10]  # stage 3 never done


def test_discovery_finds_planted_steps():
    rng = np.random.default_rng(0)
    levels = np.repeat([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]], [12, 7, 21], axis=0)
    demo = levels + 0.05 * rng.normal(size=levels.shape)
    (times,) = discover_steps([demo], 3)
    assert times.tolist() == [11, 18, 39]  # the last frame of each segment
    with pytest.raises(ValueError, match="cannot be split"):
        discover_steps([demo[:2]], 3)


def test_staged_progress_from_push_demos(push_dataset, tmp_path):
    ws, ids = push_dataset
    load = ws.load_episode
    demos = [load(i) for i in ids["demos"][:5] if load(i).meta["success"]]
    features = demos[0].meta["meta"]["features"]
    labels = stage_predicates(demos[0], ("reached", "moving", "placed"))
    assert labels.shape == (len(demos[0]), 3) and labels[-1, 2]  # placed by the end
    negatives = [load(i) for i in ids["perturbed"][:5]]
    model = fit_staged(demos, "Push", features, negatives, StagedConfig(epochs=100))
    assert model.config.stages == ("reached", "moving", "placed")  # the scene's, filled in
    held = [load(i) for i in ids["held_out"]]
    assert progress_spearman(model, held) >= 0.85
    failures = [load(i) for i in ids["held_out_random"]]
    assert success_failure_accuracy(model, [e for e in held if e.meta["success"]],
                                    failures) >= 0.9
    end = model.stage_probabilities(held[0]["state"][-1:])[0]
    assert np.all(end > 0.5)  # every stage done at the end of a success

    model.save(tmp_path / "staged")
    loaded = load_reward_model(tmp_path / "staged", device="cpu")
    np.testing.assert_array_equal(loaded.progress(held[0]["state"]),
                                  model.progress(held[0]["state"]))


def test_gating_caps_progress_at_the_stages_done(push_dataset):
    ws, ids = push_dataset
    demos = [ws.load_episode(i) for i in ids["demos"][:3]]
    features = demos[0].meta["meta"]["features"]
    gated = fit_staged(demos, "Push", features, config=StagedConfig(epochs=30))
    states = np.concatenate([ws.load_episode(i)["state"] for i in ids["random"]])
    stages = gated.stage_probabilities(states)
    cap = (np.cumprod(stages, axis=1).sum(axis=1) + 1) / 3
    assert np.all(gated.progress(states) <= cap + 1e-6)


def test_discovered_steps_when_asked_and_unknown_stages_named(push_dataset):
    ws, ids = push_dataset
    demos = [ws.load_episode(i) for i in ids["demos"][:3]]
    features = demos[0].meta["meta"]["features"]
    model = fit_staged(demos, "Push", features, config=StagedConfig(discover=2, epochs=5))
    assert model.config.stages == ("step 1", "step 2")
    with pytest.raises(ValueError, match="no stages.*its stages: reached, moving, placed"):
        fit_staged(demos, "Push", features, config=StagedConfig(stages=("lifted",)))
