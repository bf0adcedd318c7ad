"""Reviewing and editing what was recorded, Qt-free: replay with the episode's own variations,
undoable deletion, branching comparisons, drag-to-perturb, N-way rankings, and what a learned
reward likes and whether new labels would change it."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.envs.replay import EpisodeReplay, env_for
from workbench.feedback.branching import branch_episodes
from workbench.session import Session
from workbench.session.events import TimelineChanged
from workbench.teleop.pointer import CameraPose


@pytest.fixture
def session(tmp_path):
    s = Session(tmp_path / "ws", scene="Push")
    s.recording.record_scripted(3, with_failures=True)
    yield s
    s.close()


def test_replay_restores_the_episode_with_its_own_colours(session):
    rows = session.browser.episodes()
    a, b = rows[0]["id"], rows[1]["id"]
    episode = session.workspace.load_episode(b)
    env = env_for(episode)
    EpisodeReplay(env).show(episode, 10)
    np.testing.assert_allclose(env.state_vector(), episode["state"][10], atol=1e-5)
    # Colours come from the reset seed: the frame of episode b differs from episode a's even
    # at the first frame (another layout and colour draw), and is the same when asked twice.
    first_b = session.browser.frame_of(b, 0)
    assert not np.array_equal(session.browser.frame_of(a, 0), first_b)
    np.testing.assert_array_equal(session.browser.frame_of(b, 0), first_b)
    env.close()


def test_browser_scrubs_plays_and_leaves_the_timeline(session):
    episode_id = session.browser.episodes()[0]["id"]
    timeline = []
    session.events.subscribe(TimelineChanged, lambda e: timeline.append((e.t, e.length)))
    session.browser.open(episode_id, t=5)
    episode = session.workspace.load_episode(episode_id)
    np.testing.assert_allclose(session.live.env.state_vector(), episode["state"][5], atol=1e-5)
    session.browser.play()
    for _ in range(3):
        session.tick()
    assert session.browser.t == 8 and timeline[-1] == (8, len(episode))
    session.browser.seek(10_000)  # clamped to the last frame
    assert session.browser.t == len(episode) - 1
    session.browser.close()
    assert session.browser.episode is None and timeline[-1] == (0, 0)


def test_deleting_an_episode_can_be_undone_with_its_labels(session):
    rows = session.browser.episodes()
    pair = session.feedback.next_pair(length=5)
    session.feedback.answer_pair(pair, "left")
    victim = pair[0].episode_id
    before = session.workspace.load_episode(victim)["state"].copy()
    session.browser.delete(victim)
    assert victim not in [r["id"] for r in session.browser.episodes()]
    assert session.workspace.preferences() == []  # the label pointing into it went too
    assert session.browser.undo_delete() == victim
    assert [r["id"] for r in session.browser.episodes()] == [r["id"] for r in rows]
    np.testing.assert_array_equal(session.workspace.load_episode(victim)["state"], before)
    (label,) = session.workspace.preferences()
    assert label.answer == "left" and label.segments[0][0] == victim
    with pytest.raises(ValueError, match="nothing to undo"):
        session.browser.undo_delete()


def test_trim_from_the_browser_keeps_the_original(session):
    episode_id = session.browser.episodes()[0]["id"]
    new_id = session.browser.trim(episode_id, 10, 30)
    assert session.workspace.load_episode(new_id).meta["num_steps"] == 20
    assert session.workspace.load_episode(episode_id).meta["num_steps"] > 30


def test_branches_start_from_the_same_state_diverge_and_replay_exactly(session):
    ws = session.workspace
    parent_id = session.browser.episodes()[0]["id"]
    parent = ws.load_episode(parent_id)
    first, second = branch_episodes(ws, parent_id, t=12, length=15, noise=0.5, seed=3)
    branches = [ws.load_episode(s.episode_id) for s in (first, second)]
    for branch in branches:
        assert branch.meta["source"] == "branch" and branch.meta["num_steps"] == 15
        assert branch.meta["meta"]["branched_from"]["episode"] == parent_id
        np.testing.assert_allclose(branch.initial()["state"], parent["state"][12], atol=1e-6)
        # Exact replay: the initial snapshot plus the recorded actions give the same states.
        env = env_for(branch)
        env.reset(seed=branch.meta["seed"])
        env.restore(branch.initial()["sim_state"])
        for action in branch["action"]:
            env.step(action)
        np.testing.assert_allclose(env.state_vector(), branch["state"][-1], atol=1e-6)
        env.close()
    assert np.abs(branches[0]["state"][-1] - branches[1]["state"][-1]).max() > 1e-3
    with pytest.raises(ValueError, match="cannot branch"):
        branch_episodes(ws, parent_id, t=10_000)
    pair = session.feedback.branch_pair(parent_id, 5, length=8)
    assert all(ws.load_episode(s.episode_id).meta["num_steps"] == 8 for s in pair)


def test_dragging_the_cube_moves_it_and_the_table_does_not_budge(session):
    session.live.reset_episode()
    physics = session.live.physics
    cube = physics.model.body("cube").id
    start = physics.data.xpos[cube].copy()
    width, height = 640, 480
    camera = CameraPose.of_free_camera(start, 1.0, 90.0, -60.0)
    x, y = camera.project(start + [0, 0, 0.02], width, height)
    assert session.grab_object(camera, x, y, width, height) == cube
    session.live.drag_object(camera, x + 60, y, width, height)
    target = session.live.perturbation.target.copy()
    for _ in range(30):
        info = session.tick()  # nothing else moves: the physics runs for the drag
    moved = physics.data.xpos[cube] - start
    assert np.linalg.norm(physics.data.xpos[cube][:2] - target[:2]) < 0.03
    assert np.linalg.norm(moved[:2]) > 0.05 and "progress" in info
    session.live.release_object()
    assert not physics.data.xfrc_applied.any()
    # The table is welded to the world: nothing to grab there.
    corner = CameraPose.of_free_camera([0.5, 0.3, 0.0], 1.0, 90.0, -89.0)
    assert session.grab_object(corner, 320, 240, width, height) is None


def test_ranking_n_clips_stores_a_plackett_luce_label(session):
    group = session.feedback.next_group(count=4, length=6)
    assert len({s.episode_id for s in group}) == 4
    session.feedback.answer_ranking(group, [2, 0, 3, 1])
    (label,) = session.workspace.preferences()
    assert label.kind == "ranking" and label.answer == [2, 0, 3, 1]
    with pytest.raises(ValueError, match="at least 40 recorded"):
        session.feedback.next_group(count=40)


def test_reward_inspection_best_and_worst_segments_and_label_impact(session):
    from workbench.feedback.labels import teach
    from workbench.feedback.teachers import TEACHERS
    from workbench.rewards.preference import PreferenceConfig
    from workbench.rewards.workflow import fit_preference_in_workspace

    assert session.rewards.extreme_segments() is None and session.feedback.label_impact() is None
    teach(session.workspace, "Push", TEACHERS["oracle"], 30, np.random.default_rng(0))
    fit_preference_in_workspace(session.workspace, "Push", PreferenceConfig(epochs=30))
    best, worst = session.rewards.extreme_segments(length=10, count=2)
    model = session.rewards.latest()
    assert len(best) == 2 and len(worst) == 2
    assert min(s.mean_reward for s in best) > max(s.mean_reward for s in worst)
    for scored in best + worst:  # the mean reported is the model's mean on that window
        episode_id, start, end = scored.segment
        states = session.workspace.load_episode(episode_id)["state"][start:end]
        assert scored.mean_reward == pytest.approx(float(model.score(states).mean()), rel=1e-4)
    impact = session.feedback.label_impact()
    assert impact.total == 30 and impact.since_fit == 0
    # Two new labels: one as the reward predicts, one against it.
    (top, *_), (bottom, *_) = best, worst
    session.feedback.answer_pair((top.segment, bottom.segment), "left")
    session.feedback.answer_pair((top.segment, bottom.segment), "right")
    impact = session.feedback.label_impact()
    assert (impact.since_fit, impact.disagreed) == (2, 1) and "refit" in impact.summary
    assert "learned_reward" in session.live.live_reward()
    session.set_scene("Push", "so101")  # the model reads arm6's observations, not the SO-101's
    assert session.live.live_reward() == {}


def test_a_reward_of_one_robot_is_inspected_on_that_robots_takes(session):
    """Push's takes of arm6 and of the SO-101 (their observations differ): the best and worst
    segments and the Reward panel's curve come from the takes the model can read."""
    from workbench.rewards.progress import ProgressConfig
    from workbench.rewards.workflow import fit_progress_in_workspace

    session.set_scene("Push", "so101")
    session.recording.record_scripted(2)
    fit_progress_in_workspace(session.workspace, "Push", ProgressConfig(epochs=2),
                              robot="so101")
    theirs = {row["id"] for row in session.browser.episodes() if row["meta"]["robot"] == "so101"}
    best, worst = session.rewards.extreme_segments(length=10, count=2)
    assert {scored.segment.episode_id for scored in best + worst} <= theirs
    summary = session.rewards.summary()
    assert len(summary.steps) and "states must be" not in summary.text


def test_clips_to_rank_come_from_one_robots_takes(session):
    """A label across arm6's and the SO-101's takes would teach no fit (a reward over states
    reads one robot's), so each query's clips share a robot: the live one's where it has takes,
    a synthetic teacher's drawn by the takes' shares."""
    from workbench.feedback.labels import teach
    from workbench.feedback.teachers import TEACHERS

    session.set_scene("Push", "so101")
    session.recording.record_scripted(3)
    robot_of = {row["id"]: row["meta"]["robot"] for row in session.browser.episodes()}
    for live in ("so101", "arm6"):
        session.set_scene("Push", live)
        for _ in range(10):
            assert {robot_of[s.episode_id] for s in session.feedback.next_pair()} == {live}
        assert {robot_of[s.episode_id] for s in session.feedback.next_group(3)} == {live}
    teach(session.workspace, "Push", TEACHERS["oracle"], 20, np.random.default_rng(0))
    pairs = [p.segments for p in session.workspace.preferences()]
    assert all(len({robot_of[s[0]] for s in pair}) == 1 for pair in pairs)
    assert {robot_of[pair[0][0]] for pair in pairs} == {"so101", "arm6"}  # both, by shares


def test_the_apps_dataset_export_holds_the_live_robots_takes(session, tmp_path):
    """With takes of arm6 and the SO-101 in Push, Workspace > Export dataset writes the live
    robot's (a dataset holds one robot's; it was refused before)."""
    import h5py

    session.set_scene("Push", "so101")
    session.recording.record_scripted(2)
    theirs = [r for r in session.browser.episodes() if r["meta"]["robot"] == "so101"]
    job = session.jobs.export_dataset(str(tmp_path / "so101.hdf5"))
    job.wait(timeout=120)
    assert job.state == "done", job.error
    assert job.result["episodes"] == len(theirs)
    with h5py.File(tmp_path / "so101.hdf5") as f:
        assert len(f["data"]) == len(theirs)


def test_the_app_exports_the_live_robots_takes_as_the_real_robots_dataset(session, tmp_path):
    """Workspace > Export as the real robot's LeRobot dataset: offered for the SO-101 (LeRobot
    drives the real one), not for arm6; it writes the SO-101's takes of the scene as
    ``so101_follower`` joints though the scene holds arm6's takes too."""
    import json

    assert session.lerobot_type() == ""  # arm6, the scene's own
    session.set_scene("Push", "so101")
    session.recording.record_scripted(2)
    theirs = [r for r in session.browser.episodes() if r["meta"]["robot"] == "so101"]
    assert session.lerobot_type() == "so101_follower"
    job = session.jobs.export_dataset(str(tmp_path / "so101"), joints=True)
    job.wait(timeout=120)
    assert job.state == "done", job.error
    info = json.loads((tmp_path / "so101/meta/info.json").read_text())
    assert info["robot_type"] == "so101_follower" and info["total_episodes"] == len(theirs)
    assert info["features"]["action"]["names"][0] == "shoulder_pan.pos"
