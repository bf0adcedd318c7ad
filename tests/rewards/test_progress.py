"""Progress rewards from demos: quality against ground truth, artifacts, clear failures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.rewards import ArtifactError, load_reward_model
from workbench.rewards.metrics import progress_spearman, success_failure_accuracy
from workbench.rewards.progress import ProgressConfig, ProgressRewardModel, fit_progress
from workbench.rewards.progress.fit import progress_targets
from workbench.rewards.workflow import fit_progress_in_workspace

FAST = ProgressConfig()


@pytest.fixture(scope="module")
def fitted(push_dataset):
    ws, ids = push_dataset
    load = ws.load_episode
    features = load(ids["demos"][0]).meta["meta"]["features"]
    negatives = [load(i) for i in ids["random"] + ids["perturbed"]]
    model = fit_progress([load(i) for i in ids["demos"]], "Push", features, negatives, FAST)
    return model, ws, ids


def test_targets_are_normalised_time_held_at_one_after_success(push_dataset):
    ws, ids = push_dataset
    episode = next(ws.load_episode(i) for i in ids["demos"] if ws.load_episode(i).meta["success"])
    targets = progress_targets(episode, ProgressConfig(bins=0))
    first = int(np.flatnonzero(episode["success"])[0])
    assert np.all(np.diff(targets) >= 0)
    assert targets[first] == 1.0 and np.all(targets[first:] == 1.0)
    binned = progress_targets(episode, ProgressConfig(bins=4))
    assert set(np.unique(binned)) <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_learned_progress_tracks_ground_truth_on_held_out_episodes(fitted):
    model, ws, ids = fitted
    held = [ws.load_episode(i) for i in ids["held_out"]]
    assert progress_spearman(model, held) >= 0.8
    successes = [e for e in held if e.meta["success"]]
    failures = [ws.load_episode(i) for i in ids["held_out_random"]]
    assert success_failure_accuracy(model, successes, failures) >= 0.9


def test_save_load_round_trip_reproduces_predictions_exactly(fitted, tmp_path):
    model, ws, ids = fitted
    states = ws.load_episode(ids["held_out"][0])["state"]
    model.save(tmp_path / "m")
    loaded = load_reward_model(tmp_path / "m", device="cpu")
    np.testing.assert_array_equal(loaded.progress(states), model.progress(states))
    assert loaded.features == model.features and loaded.config == model.config


def test_corrupt_or_mismatched_artifacts_fail_clearly(fitted, tmp_path):
    model, *_ = fitted
    path = model.save(tmp_path / "m")
    (path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="corrupt"):
        load_reward_model(path)
    path = model.save(tmp_path / "m2")
    header = json.loads((path / "config.json").read_text())
    header["input_dim"] += 1
    header["features"]["extra"] = 1
    (path / "config.json").write_text(json.dumps(header))
    with pytest.raises(ArtifactError, match="does not match"):
        load_reward_model(path)
    with pytest.raises(ArtifactError, match="no config.json"):
        load_reward_model(tmp_path)
    with pytest.raises(ArtifactError, match="fitted on Push"):
        model.check_features({"joint_pos": 6})


def test_input_shape_is_checked(fitted):
    model, *_ = fitted
    with pytest.raises(ValueError, match=r"states must be \(N, 31\)"):
        model.progress(np.zeros((2, 5), np.float32))


def test_fitting_without_demos_says_what_to_do(workspace):
    with pytest.raises(ValueError, match="record some first"):
        fit_progress_in_workspace(workspace, "Push")
    with pytest.raises(ValueError, match="at least one demonstration"):
        fit_progress([], "Push", {"x": 1})


def test_workflow_saves_the_model_with_its_report(push_dataset):
    ws, _ = push_dataset
    model, report = fit_progress_in_workspace(ws, "Push", ProgressConfig(epochs=30))
    assert report["train_demos"] >= 1 and "spearman_progress" in report
    (row,) = [m for m in ws.models("Push") if m["id"] == report["model_id"]]
    assert row["metrics"]["spearman_progress"] == report["spearman_progress"]
    assert isinstance(load_reward_model(row["path"]), ProgressRewardModel)


def test_a_reward_restricted_to_named_inputs_ignores_the_rest(push_dataset, tmp_path):
    ws, ids = push_dataset
    load = ws.load_episode
    features = load(ids["demos"][0]).meta["meta"]["features"]
    config = ProgressConfig(epochs=20, inputs=("hand_to_cube", "cube_to_target"))
    model = fit_progress([load(i) for i in ids["demos"]], "Push", features, (), config)
    states = load(ids["held_out"][0])["state"].copy()
    moved = states.copy()
    start = 0
    for name, size in features.items():  # shift everything the reward may not see
        if name not in config.inputs:
            moved[:, start : start + size] += 0.3
        start += size
    np.testing.assert_array_equal(model.progress(moved), model.progress(states))
    changed = states.copy()
    changed[:, -3:] += 0.1  # cube_to_target, the last feature, is seen
    assert not np.allclose(model.progress(changed), model.progress(states))
    model.save(tmp_path / "m")  # the restriction survives a round trip
    np.testing.assert_array_equal(load_reward_model(tmp_path / "m").progress(moved),
                                  model.progress(states))
    with pytest.raises(ValueError, match="not observation features.*choose from"):
        ProgressRewardModel(sum(features.values()), features, "Push",
                            ProgressConfig(inputs=("cube_colour",)))



def test_a_kernel_reward_is_the_demos_targets_near_them_and_zero_far_away(push_dataset, tmp_path):
    ws, ids = push_dataset
    load = ws.load_episode
    features = load(ids["demos"][0]).meta["meta"]["features"]
    demos = [load(i) for i in ids["demos"]]
    negatives = [load(i) for i in ids["random"] + ids["perturbed"]]
    config = ProgressConfig(inputs=("hand_to_cube", "cube_to_target"), kernel=0.15)
    model = fit_progress(demos, "Push", features, negatives, config)
    # On a demo it follows the demo's own targets (neighbouring states of other takes blur it
    # a little), and it rises along the demo as they do.
    demo = next(d for d in demos if d.meta["success"])
    on_demo = model.progress(demo["state"])
    targets = progress_targets(demo, config)
    assert np.abs(on_demo - targets).mean() < 0.15
    assert np.corrcoef(on_demo, targets)[0, 1] > 0.9
    # Half a metre from every fitted state (the hand away from the cube) it pays nothing: no
    # extrapolation for a policy to climb.
    columns = _columns(features, "hand_to_cube")
    far = demo["state"].copy()
    far[:, columns] += 0.5
    assert model.progress(far).max() < 1e-3
    # Features it may not see change nothing.
    hidden = demo["state"].copy()
    hidden[:, _columns(features, "cube_pos")] += 0.3
    np.testing.assert_array_equal(model.progress(hidden), on_demo)
    # The states travel with the artifact (safetensors, sized by config.json), and a
    # config.json that sizes them wrongly is refused.
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(load_reward_model(tmp_path / "m").progress(demo["state"]),
                                  on_demo)
    header = json.loads((tmp_path / "m" / "config.json").read_text())
    header["kernel_frames"] = 0
    (tmp_path / "m" / "config.json").write_text(json.dumps(header))
    with pytest.raises(ArtifactError, match="kernel_frames 0 is not a count"):
        load_reward_model(tmp_path / "m")


def _columns(features: dict[str, int], name: str) -> slice:
    start = 0
    for feature, size in features.items():
        if feature == name:
            return slice(start, start + size)
        start += size
    raise KeyError(name)
