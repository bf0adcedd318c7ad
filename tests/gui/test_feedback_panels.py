"""The Record, Rank and Goal panels: takes, rankings and goals stored through the real session."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from workbench.session.events import Problem


def test_a_scene_without_a_demonstrator_records_random_takes_to_rank(window, qtbot):
    """Locomotion scenes have no scripted demonstrator: the Record panel's button offers
    random takes there (it failed with the demonstrator's error) and back on Push, demos."""
    record = window.panels["Record"]
    assert "scripted demos" in record.scripted.text()
    window.session.set_scene("CheetahRun")
    assert record.scripted.text() == "Record random takes"
    record.scripted_count.setValue(2)
    qtbot.mouseClick(record.scripted, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (window.session.jobs.poll() or True) and record.scripted.isEnabled()
                    and len(window.session.browser.episodes()) == 2, timeout=120_000)
    rows = window.session.browser.episodes()
    assert {row["source"] for row in rows} == {"random"} and record.episodes.count() == 2
    assert "⚠" not in window.status.text()
    window.session.set_scene("Push")
    assert "scripted demos" in record.scripted.text()


def test_record_panel_keyboard_take_and_scripted_demos(window, qtbot):
    panel = window.panels["Record"]
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    assert window.session.recording.active and panel.save.isEnabled()
    qtbot.keyPress(window.viewport, Qt.Key.Key_W)
    for _ in range(8):
        window._tick()
    qtbot.keyRelease(window.viewport, Qt.Key.Key_W)
    qtbot.keyPress(window.viewport, Qt.Key.Key_Return)
    assert not window.session.recording.active
    rows = window.session.browser.episodes()
    assert len(rows) == 1 and rows[0]["num_steps"] == 8 and rows[0]["source"] == "teleop"
    episode = window.session.workspace.load_episode(rows[0]["id"])
    assert episode["action"][:, 0].min() > 0  # 'w' drove +x the whole take
    panel.scripted_count.setValue(2)
    qtbot.mouseClick(panel.scripted, Qt.MouseButton.LeftButton)  # a worker; the bar shows it
    assert panel.scripted_bar.isVisible() and not panel.scripted.isEnabled()
    qtbot.waitUntil(lambda: window.session.jobs.poll() or panel.scripted.isEnabled(),
                    timeout=120_000)
    sources = [r["source"] for r in window.session.browser.episodes()]
    assert sources == ["teleop", "scripted", "scripted", "random", "perturbed", "perturbed"]
    assert panel.episodes.count() == 6
    # Cancel keeps what was saved: a long batch stopped after its first takes.
    panel.scripted_count.setValue(100)
    qtbot.mouseClick(panel.scripted, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.jobs.poll() or panel.scripted_bar.value() >= 2,
                    timeout=120_000)
    qtbot.mouseClick(panel.cancel_scripted, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.jobs.poll() or panel.scripted.isEnabled(),
                    timeout=120_000)
    kept = len(window.session.browser.episodes()) - 6
    assert 2 <= kept < 100 and f"kept the {kept} takes" in window.status.text()
    assert panel.episodes.count() == 6 + kept


def test_the_record_panels_difficulty_lays_out_the_scene_and_the_demos(window, qtbot):
    """The Record panel's difficulty: set, the viewport's scene is laid out there, the
    scripted demos (a worker) are recorded at it, the list says so, and the Train panel trains
    at it unless another was set there; during a take it is locked, the take keeping the
    layout it started with."""
    panel, session = window.panels["Record"], window.session
    assert panel.difficulty.value() == 0.0 and session.difficulty == 0.0
    panel.difficulty.setValue(0.5)  # as a person's arrows or Enter
    assert session.difficulty == 0.5 and session.live.env.task.difficulty == 0.5
    train = window.panels["Train"]  # trains where the takes are, unless told otherwise there
    assert train.run_config().difficulty == 0.5
    train.difficulty.setValue(0.25)
    panel.difficulty.setValue(1.0)
    assert train.run_config().difficulty == 0.25
    train.difficulty.setValue(1.0)
    panel.difficulty.setValue(0.5)
    assert train.run_config().difficulty == 0.5
    panel.scripted_count.setValue(1)
    qtbot.mouseClick(panel.scripted, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.jobs.poll() or panel.scripted.isEnabled(),
                    timeout=120_000)
    rows = session.browser.episodes()
    assert rows and {row["meta"]["difficulty"] for row in rows} == {0.5}
    assert all("difficulty 0.5" in panel.episodes.item(i).text()
               for i in range(panel.episodes.count()))
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    assert not panel.difficulty.isEnabled()
    qtbot.keyPress(window.viewport, Qt.Key.Key_Escape)  # discarded
    assert panel.difficulty.isEnabled() and "⚠" not in window.status.text()


def test_the_example_goal_follows_the_scene(window):
    """The Record and Goal panels offer a sentence of the live scene (the Goal panel scores and
    trains on it when nothing is typed), not Push's on every scene."""
    record, goal = window.panels["Record"], window.panels["Goal"]
    assert "cube" in goal.goal.placeholderText()
    window.session.set_scene("HopperStand")
    assert goal.goal.placeholderText() == "make the hopper stand up"
    assert record.goal.placeholderText() == "goal of this take, e.g. make the hopper stand up"


def test_rank_and_goal_panels_store_feedback(window, qtbot):
    window.session.recording.record_scripted(3)
    rank = window.panels["Rank"]
    rank.next_query()
    assert rank.views[0].pixmap() is not None and not rank.views[0].pixmap().isNull()
    first = rank.views[0].pixmap().toImage()
    rank._advance_clips()  # the player timer's tick: both clips move on together
    assert rank.views[0].pixmap().toImage() != first
    for answer in ("left", "equal", "skip"):
        qtbot.mouseClick(rank.buttons[answer], Qt.MouseButton.LeftButton)
    assert [p.answer for p in window.session.workspace.preferences()] == ["left", "equal", "skip"]
    assert "3 labels" in rank.count.text()
    for _ in range(12):
        qtbot.mouseClick(rank.buttons["right"], Qt.MouseButton.LeftButton)
    reward = window.panels["Reward"]
    reward.family.setCurrentIndex(reward.family.findData("preference"))
    assert reward.fit_button.isEnabled() and not reward.stop_button.isEnabled()  # idle
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    assert reward.stop_button.isEnabled() and not reward.fit_button.isEnabled()  # fitting
    qtbot.waitUntil(lambda: (window.session.jobs.poll() or True)
                    and "preference model" in reward.report.text(), timeout=180_000)
    assert "from 13 labels (3 members)" in reward.report.text()  # 15 labels, 2 held out
    assert reward.fit_button.isEnabled() and not reward.stop_button.isEnabled()
    assert all(button.isEnabled() for row in reward.extremes for button in row)
    qtbot.mouseClick(rank.buttons["left"], Qt.MouseButton.LeftButton)
    assert "1 since the last fit" in rank.count.text()
    goal = window.panels["Goal"]
    goal.goal.setText("slide the blue block to the goal")
    goal.baseline.setText("a block on a table")
    qtbot.mouseClick(goal.save, Qt.MouseButton.LeftButton)
    texts = [goal.goals.item(i).text() for i in range(goal.goals.count())]
    assert "slide the blue block to the goal   (vs: a block on a table)" in texts
    assert goal.goal.text() == "slide the blue block to the goal"  # kept: Score uses it
    goal.goal.setText("   ")
    qtbot.mouseClick(goal.save, Qt.MouseButton.LeftButton)  # refused, shown in the window
    assert "goal sentence is empty" in window.status.text()


def test_rank_panel_sizes_its_clips_to_the_room_it_has(window, qtbot):
    # Tall enough that the width, not the height, sizes the ranking's clips below (its test
    # passed only after others in one process had left a taller window in the settings).
    window.resize(1280, 1000)
    window.session.recording.record_scripted(3)
    window.tabs.setCurrentWidget(window.panels["Rank"])
    rank = window.panels["Rank"]
    rank.next_query()
    narrow = rank.views[0].pixmap().width()
    window.resize(window.width() + 600, window.height())  # the panel's half of it widens
    qtbot.waitUntil(lambda: rank.views[0].pixmap().width() > narrow, timeout=10_000)
    pixmap = rank.views[0].pixmap()
    assert pixmap.width() <= 480 and pixmap.width() * 3 == pixmap.height() * 4
    assert rank.views[1].pixmap().size() == pixmap.size()  # both clips at one size
    assert pixmap.width() <= rank.views[0].width()  # it fits its half of the page
    rank.mode.setCurrentIndex(rank.mode.findData(4))  # four clips fill the list, two by two
    width = rank.clip_size[0]
    assert rank.ranking.iconSize().width() == width and 2 * width < rank.ranking.width()
    moved = rank.ranking.takeItem(3)  # the person drags the last clip to the front
    rank.ranking.insertItem(0, moved)
    order = rank.current_order()
    window.resize(window.width() - 400, window.height())
    qtbot.waitUntil(lambda: rank.clip_size[0] < width, timeout=10_000)
    assert rank.current_order() == order  # resizing keeps the order dragged so far
    assert rank.ranking.iconSize().width() == rank.clip_size[0]


def test_record_panel_browses_replays_trims_deletes_undoes_and_branches(window, qtbot):
    session = window.session
    session.recording.record_scripted(2)
    panel = window.panels["Record"]
    assert panel.episodes.count() == 5 and not panel.episodes.item(0).icon().isNull()
    timeline = panel.timeline
    assert not timeline.slider.isEnabled()
    first = panel.episodes.item(0)
    episode_id = first.data(Qt.ItemDataRole.UserRole)
    panel.episodes.setCurrentItem(first)
    panel._open(first)
    episode = session.workspace.load_episode(episode_id)
    assert timeline.slider.isEnabled() and timeline.slider.maximum() == len(episode) - 1
    assert len(timeline.curves["progress"].getData()[0]) == len(episode)
    timeline.slider.setValue(20)
    np.testing.assert_allclose(session.live.env.state_vector(), episode["state"][20], atol=1e-5)
    assert timeline.position.text().startswith(f"21/{len(episode)}")
    assert window.viewport.overlay["progress"] == pytest.approx(episode["progress"][20])
    qtbot.mouseClick(timeline.play, Qt.MouseButton.LeftButton)
    for _ in range(3):
        window._tick()
    assert session.browser.t == 23 and timeline.slider.value() == 23
    qtbot.mouseClick(timeline.play, Qt.MouseButton.LeftButton)  # pause
    qtbot.mouseClick(timeline.mark_in, Qt.MouseButton.LeftButton)
    timeline.slider.setValue(40)
    qtbot.mouseClick(timeline.mark_out, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(timeline.trim, Qt.MouseButton.LeftButton)
    trimmed = session.browser.episodes()[-1]
    assert trimmed["num_steps"] == 18 and "kept frames 23-40" in window.status.text()
    # Branch from the shown frame: two new episodes, ranked as a pair on the Rank panel.
    qtbot.mouseClick(timeline.branch, Qt.MouseButton.LeftButton)
    rank = window.panels["Rank"]
    assert window.tabs.currentWidget() is rank
    assert [session.workspace.load_episode(s.episode_id).meta["source"]
            for s in rank.pair] == ["branch", "branch"]
    qtbot.mouseClick(rank.buttons["left"], Qt.MouseButton.LeftButton)
    assert session.workspace.preferences()[0].segments[0][0] == session.browser.episodes()[-2]["id"]
    # Delete (no dialog) and undo from the Edit menu.
    count = panel.episodes.count()
    panel.episodes.setCurrentRow(0)
    qtbot.mouseClick(panel.delete, Qt.MouseButton.LeftButton)
    assert panel.episodes.count() == count - 1 and "Ctrl+Z" in window.status.text()
    assert session.browser.episode is None  # the deleted episode left the timeline
    edit = next(a for a in window.menuBar().actions() if a.text() == "&Edit").menu()
    undo = next(a for a in edit.actions() if a.text() == "&Undo delete")
    assert undo.shortcut().toString() == "Ctrl+Z"
    undo.trigger()
    assert panel.episodes.count() == count
    qtbot.mouseClick(timeline.live, Qt.MouseButton.LeftButton)


def test_rank_panel_ranks_n_clips_by_drag_and_drop(window, qtbot):
    window.session.recording.record_scripted(3)
    rank = window.panels["Rank"]
    rank.mode.setCurrentIndex(rank.mode.findData(4))
    assert rank.stack.currentIndex() == 1 and rank.ranking.count() == 4
    assert all(not rank.ranking.item(i).icon().isNull() for i in range(4))
    moved = rank.ranking.takeItem(3)  # what an internal drag-and-drop does to the list
    rank.ranking.insertItem(0, moved)
    order = rank.current_order()
    assert order[0] == 3 and sorted(order) == [0, 1, 2, 3]
    group = list(rank.group)
    qtbot.mouseClick(rank.submit, Qt.MouseButton.LeftButton)
    (label,) = window.session.workspace.preferences()
    assert label.kind == "ranking" and label.answer == order
    assert label.segments == [tuple(s) for s in group]


def test_goal_panel_plots_the_goal_reward_of_recorded_episodes(window, qtbot):
    session = window.session
    session.recording.record_scripted(3, with_failures=False)
    goal = window.panels["Goal"]
    goal.goal.setText(session.browser.episodes()[0]["goal"])
    qtbot.mouseClick(goal.score, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or goal.result is not None, timeout=120_000)
    curves = [item for item in goal.plot.listDataItems() if len(item.getData()[0])]
    assert len(curves) == 3 and "episodes match the named objects" in goal.status.text()
    from gui.panels.goal import OTHER  # episodes of other objects: grey, not "did not"
    for item in curves:
        paid = item.getData()[1].max() > 0
        assert (item.opts["pen"].color().name() == OTHER) != paid


def test_a_missing_gamepad_is_reported_in_the_window_and_nothing_records(window, qtbot,
                                                                          monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    panel = window.panels["Record"]
    panel.device.setCurrentText("gamepad")
    shown = []
    monkeypatch.setattr(window, "show_error", lambda message: shown.append(message))
    window.session.events.subscribe(Problem, lambda e: shown.append(e.message))
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    assert not window.session.recording.active
    assert any("no gamepad found" in m for m in shown)
