"""The desktop app offscreen (pytest-qt), every panel through the real session and core."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QMouseEvent

from gui.main_window import MainWindow
from gui.settings import Settings
from workbench.config import ConfigError
from workbench.data.formats.video import read_video
from workbench.rl.run_config import RunConfig
from workbench.session import Session
from workbench.session.events import Problem


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # QSettings stay in tmp
    session = Session(tmp_path / "ws", scene="Push")
    win = MainWindow(session, Settings())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    session.jobs.kill_all()  # first: a running job makes closing ask (modal)
    win.close()
    session.close()


def test_viewport_shows_the_rendered_scene(window):
    frame = window.viewport.render_frame()
    assert frame.shape == (480, 640, 3)
    assert frame.std() > 10 and len(np.unique(frame.reshape(-1, 3), axis=0)) > 100
    grabbed = window.viewport.grab().toImage()
    assert grabbed.width() > 0 and grabbed.pixelColor(10, 10) != grabbed.pixelColor(
        grabbed.width() // 2, grabbed.height() // 2)


def test_mouse_orbits_and_zooms_the_free_camera(window, qtbot):
    camera = window.viewport.free_camera
    azimuth, distance = camera.azimuth, camera.distance
    center = window.viewport.rect().center()
    qtbot.mousePress(window.viewport, Qt.MouseButton.LeftButton, pos=center)
    move = QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(center) + QPointF(60, 0),
                       Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.viewport.mouseMoveEvent(move)
    assert camera.azimuth != azimuth
    window.viewport.move_camera(__import__("mujoco").mjtMouse.mjMOUSE_ZOOM, 0, 0.2)
    assert camera.distance < distance


def test_scene_picker_switches_scene(window, qtbot):
    index = window.scene_picker.findData("Walk")
    window.scene_picker.setCurrentIndex(index)
    assert window.session.scene == "Walk"
    assert "robot/side" in [window.camera_picker.itemText(i)
                            for i in range(window.camera_picker.count())]
    assert window.viewport.render_frame().std() > 5


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


def test_the_train_panels_settings_start_from_the_shown_scenes(window):
    """A Reach run learns its online reward from the hand-to-target vector (the scene's
    preference defaults); back on Push, from every feature."""
    train = window.panels["Train"]
    assert train.run_config().online.preference.inputs == ()
    window.session.set_scene("Reach")
    assert train.run_config().online.preference.inputs == ("hand_to_target",)
    assert train.more.widget().widget("online.preference.inputs").text() == "hand_to_target"
    window.session.set_scene("Push")
    assert train.run_config().online == RunConfig.for_scene("Push").online


def test_a_scene_change_keeps_the_settings_the_person_changed(window):
    """Edits survive choosing another scene, except where the new scene sets the value itself
    (Reach's preference inputs); a reward family shown again keeps its edits too."""
    train = window.panels["Train"]
    train.more.widget().widget("eval_episodes").setValue(7)
    train.more.widget().widget("online.preference.inputs").setText("cube_to_pad")
    window.session.set_scene("Reach")
    config = train.run_config()
    assert config.scene == "Reach" and config.eval_episodes == 7
    assert config.online.preference.inputs == ("hand_to_target",)  # Reach's own
    window.session.set_scene("Push")
    assert train.run_config().eval_episodes == 7
    assert train.run_config().online.preference.inputs == ()  # the Push edit went with Push

    reward = window.panels["Reward"]
    reward.family.setCurrentIndex(reward.family.findData("preference"))
    reward.settings.widget("members").setValue(5)
    reward.family.setCurrentIndex(reward.family.findData("progress"))
    reward.family.setCurrentIndex(reward.family.findData("preference"))
    window.session.set_scene("Reach")
    fitted = reward.settings.config()
    assert fitted.members == 5 and fitted.inputs == ("hand_to_target",)
    assert reward.settings_box.widget() is reward.settings


def test_the_robot_list_offers_the_robots_the_scene_is_laid_out_for(window):
    """Push's list: its own arm first, then the arms it is laid out for; a robot chosen for
    Push goes where the new scene cannot take it (the cheetah's), and the other edits stay."""
    train = window.panels["Train"]
    robots = train.more.widget().widget("robot")
    offered = [robots.itemData(i) for i in range(robots.count())]
    assert offered == ["", "arm7", "panda", "so101"]
    assert robots.itemText(0) == "arm6 (the scene's own)"
    robots.setCurrentIndex(robots.findData("panda"))
    train.more.widget().widget("eval_episodes").setValue(7)
    window.session.set_scene("Reach")  # a tabletop scene too: the Panda stays
    assert (train.run_config().robot, train.run_config().eval_episodes) == ("panda", 7)
    window.session.set_scene("CheetahRun")
    robots = train.more.widget().widget("robot")
    assert [robots.itemText(i) for i in range(robots.count())] == ["cheetah (the scene's own)"]
    assert (train.run_config().robot, train.run_config().eval_episodes) == ("", 7)
    window.session.set_scene("PushChoice")  # a tabletop scene not laid out for a small arm
    robots = train.more.widget().widget("robot")
    assert [robots.itemText(i) for i in range(robots.count())] == ["arm6 (the scene's own)"]
    assert window.panels["Record"].robot_row.isHidden()


def test_the_real_robot_export_is_offered_for_a_robot_lerobot_drives(window):
    export = window.workspace_menu.actions["Export as the real robot's LeRobot dataset…"]
    assert not export.isEnabled() and "SO-101" in export.toolTip()  # arm6: no real twin
    record = window.panels["Record"]
    record.robot.setCurrentIndex(record.robot.findData("so101"))
    record.robot.activated.emit(record.robot.currentIndex())  # as a person's pick
    assert window.session.live.env.robot_name == "so101"
    assert export.isEnabled() and "so101_follower" in export.toolTip()
    window.session.set_scene("CheetahRun")
    assert not export.isEnabled()


def test_the_record_panel_records_with_the_robot_chosen_and_training_follows(window, qtbot):
    """An SO-101 owner picks it on Push: the viewport runs it, a keyboard take and the scripted
    demos are recorded with it, and the Train and Reward panels follow it unless another robot
    was chosen there."""
    record, train, reward = (window.panels[name] for name in ("Record", "Train", "Reward"))
    session = window.session

    def choose(robot: str) -> None:
        record.robot.setCurrentIndex(record.robot.findData(robot))
        record.robot.activated.emit(record.robot.currentIndex())  # as a person's pick

    assert [record.robot.itemData(i) for i in range(record.robot.count())] == [
        "", "arm7", "panda", "so101"]
    choose("so101")
    assert session.live.env.robot_name == "so101" and train.run_config().robot == "so101"
    def keyboard_take() -> None:
        qtbot.mouseClick(record.start, Qt.MouseButton.LeftButton)
        assert not record.robot.isEnabled()  # a new robot would end the take
        for _ in range(4):
            window._tick()
        qtbot.keyPress(window.viewport, Qt.Key.Key_Return)

    keyboard_take()
    record.scripted_count.setValue(1)
    qtbot.mouseClick(record.scripted, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.jobs.poll() or record.scripted.isEnabled(),
                    timeout=120_000)
    rows = session.browser.episodes()
    assert [row["source"] for row in rows][:2] == ["teleop", "scripted"]
    assert {row["meta"].get("robot") for row in rows} == {"so101"}
    assert reward.robot.isHidden()  # one robot's takes: nothing to choose
    choose("")  # back to arm6: training follows, and the Reward panel offers arm6's takes
    assert (session.robot, train.run_config().robot) == ("", "")
    keyboard_take()
    assert not reward.robot.isHidden() and reward.robot.currentData() == "arm6"
    record._open(record.episodes.item(0))  # the SO-101's take replays with the SO-101
    assert session.browser.episode is not None and session.live.env.robot_name == "so101"
    assert record.robot.currentData() == "so101"
    choose("")
    train.more.widget().widget("robot").setCurrentIndex(
        train.more.widget().widget("robot").findData("panda"))
    choose("so101")  # a robot chosen in the Train panel stays
    assert train.run_config().robot == "panda" and reward.robot.currentData() == "so101"
    session.set_scene("DrawerOpen", "so101")  # as a leader arm does
    assert record.robot.currentData() == "so101" and not record.robot_row.isHidden()
    assert train.run_config().robot == "panda"  # DrawerOpen is laid out for it: it stays
    session.set_scene("PushChoice", "so101")  # laid out for its own arm alone
    assert train.run_config().robot == "so101"
    session.set_scene("CheetahRun")  # one robot runs it: nothing to choose
    assert record.robot_row.isHidden() and session.robot == ""


def test_the_app_reopens_with_the_robot_it_closed_with(window, qtbot, tmp_path):
    record = window.panels["Record"]
    record.robot.setCurrentIndex(record.robot.findData("panda"))
    record.robot.activated.emit(record.robot.currentIndex())
    session = Session(tmp_path / "ws", scene="Push")  # as `workbench app` opens the last scene
    reopened = MainWindow(session, Settings())
    qtbot.addWidget(reopened)
    assert session.live.env.robot_name == "panda"
    assert reopened.panels["Record"].robot.currentData() == "panda"
    reopened.close()
    asked = MainWindow(session, Settings(), robot="so101")  # `workbench gui --robot so101`
    qtbot.addWidget(asked)
    assert session.live.env.robot_name == "so101"
    asked.close()
    session.set_scene("Walk")
    refused = MainWindow(session, Settings(), robot="so101")
    qtbot.addWidget(refused)
    assert session.live.env.robot_name == "walker"
    assert "cannot open Walk with so101: robot must be" in refused.status.text()
    refused.close()
    session.close()


def test_the_reward_panel_fits_on_one_robots_takes_where_the_scene_has_several(window, qtbot):
    """Takes of the SO-101 beside arm6's (recorded from the command line into one workspace):
    the panel offers whose takes to fit on, and the state reward reads that robot's."""
    from workbench.envs import make_env
    from workbench.rewards import load_reward_model
    from workbench.teleop.recorder import record_policy_episodes, scripted_policy

    reward = window.panels["Reward"]
    assert reward.robot.isHidden()  # one robot's takes (none yet): nothing to choose
    for robot in ("so101", "arm6"):
        env = make_env("Push", robot=robot)
        record_policy_episodes(env, window.session.workspace, scripted_policy(env, 0), 2,
                               "scripted")
        env.close()
    reward.refresh()
    assert not reward.robot.isHidden()
    assert [reward.robot.itemText(i) for i in range(reward.robot.count())] == [
        "arm6's takes", "so101's takes"]
    reward.robot.setCurrentIndex(reward.robot.findData("so101"))
    reward.family.setCurrentIndex(reward.family.findData("progress"))
    reward.settings.widget("epochs").setValue(2)
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (window.session.jobs.poll() or True)
                    and "progress model" in reward.report.text(), timeout=120_000)
    model = load_reward_model(window.session.workspace.models(scene="Push")[-1]["path"])
    assert model.features["joint_pos"] == 5  # the SO-101's five joints, not arm6's six


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


def test_train_panel_scrolls_instead_of_squeezing_its_plot(window, qtbot):
    """With its settings and the sweep open the Train panel is taller than the window: it
    scrolls, the window keeps its size and the plot keeps its height (it was squeezed to
    about 50 pixels and the window grew past the screen)."""
    train = window.panels["Train"]
    window.tabs.setCurrentWidget(train)
    height = window.height()
    train.more_toggle.click()
    train.sweep_toggle.click()
    qtbot.wait(100)  # the layout settles
    assert window.height() == height
    assert train.plot.height() >= 180 and train.more.height() >= 200
    assert train.sweep.plot.height() >= 160


def test_a_run_ended_before_its_budget_says_who_ended_it_on_its_bar(window):
    """The hacking guard's stop (or the person's) leaves the bar part way: it says so, and
    the next run's bar is a plain percentage again."""
    from workbench.session.jobs import JobEvent

    train = window.panels["Train"]
    step = {"step": 30_000, "total_steps": 60_000, "learned_return": 63.0, "fps": 900.0,
            "success_rate": 0.1}
    train._on_job("train", JobEvent("progress", step))
    assert train.bar.text() == "50%"
    train._on_job("train", JobEvent("done", {
        "success_rate": 0.1, "run_id": 1, "rolled_back_to_step": 8192,
        "hacking_alarm": "reward hacking suspected at step 24576"}))
    assert train.bar.text() == "stopped by the hacking guard at 50% of its steps"
    assert not train.alarm.isHidden() and "rolled back to step 8192" in train.alarm.text()
    train._launch(lambda: None)  # a new run (its job started elsewhere)
    assert train.bar.text() == "50%" and train.alarm.isHidden()
    train._on_job("train", JobEvent("stopped", {"success_rate": 0.1, "run_id": 2}))
    assert train.bar.text() == "stopped at 50% of its steps"
    assert "films" not in train.status.text()
    train._on_job("train", JobEvent("done", {"success_rate": 0.9, "run_id": 3,
                                             "films": "runs/ppo-Push-3/films"}))
    assert train.status.text().endswith(" · films in runs/ppo-Push-3/films")


def test_a_sweep_runs_where_more_settings_name_the_cluster(window):
    """The trials run on the cluster "More settings" names and each steps its own envs, so a
    curriculum (refused for one run on a cluster) is a trial setting like any other."""
    train = window.panels["Train"]
    train.more.widget().widget("cluster").setText("auto")
    train.curriculum.setChecked(True)
    with pytest.raises(ConfigError, match="^cluster: curriculum"):
        train.run_config()  # one run stepping its envs on the cluster
    request = train.sweep.request()
    assert (request.cluster, request.config.cluster) == ("auto", "")
    assert request.config.curriculum and request.config.scene == window.session.scene


def test_the_sweep_table_shows_failed_trials_apart_from_scores(window, tmp_path):
    """A sweep whose trials failed (written by workbench.rl.sweep) shows their count and no
    score for a setting that has none; the status points at the report's errors."""
    from workbench.rl.sweep_report import rank, write_report
    from workbench.session.jobs import JobEvent

    trials = [{"assignments": [a], "seed": 1000, "finished": not e, "score": 0.5,
               "run": None, "curve": [(512, 0.5)], "error": e}
              for a, e in (("reward=reference", None), ("reward=sparse", "TypeError: boom"))]
    write_report(tmp_path, RunConfig(scene="Reach"), rank(trials), trials)
    sweep = window.panels["Train"].sweep
    said = "not every node sees the workspace, so Reach's recordings (0.1 MB) travel with"
    sweep._on_job("sweep", JobEvent("message", {"text": said}))
    assert sweep.status.text() == said
    sweep._on_job("sweep", JobEvent("done", {"report": str(tmp_path / "report.md")}))
    cells = [[sweep.table.item(r, c).text() for c in range(sweep.table.columnCount())]
             for r in range(sweep.table.rowCount())]
    assert cells == [["reward=reference", "0.50", "0.00", "1", "0", "0", "0"],
                     ["reward=sparse", "-", "-", "0", "0", "1", "0"]]
    assert "1 trials failed" in sweep.status.text()
    assert not sweep.go_on.isEnabled()  # nothing was stopped by hand
    assert not sweep.retry.isEnabled()  # a sweep without its plan cannot go on


def _a_sweep_in_the_workspace(window, plan, trials):
    """The folder of a sweep of ``plan`` that left ``trials``, as workbench.rl.sweep writes
    it."""
    from workbench.rl.sweep_report import rank, write_report
    from workbench.rl.sweep_state import merged

    trials = merged(plan, [], trials)
    out = window.session.context.workspace.root / "sweeps" / "sweep-Reach"
    out.mkdir(parents=True)
    plan.save(out)
    write_report(out, plan.base, rank(trials), trials)
    return out


def test_a_sweep_s_failed_trials_run_again_from_the_sweep_box(window, monkeypatch):
    """Once their cause is mended, Retry failed trials asks for the sweep to go on with its
    failed trials started again."""
    from workbench.rl.sweep_state import SweepPlan

    plan = SweepPlan(RunConfig(scene="Reach"), (("reward=sparse",),), (1000,), 2, 2)
    failed = {"assignments": ["reward=sparse"], "seed": 1000, "started": True,
              "finished": False, "score": 0.0, "run": None, "curve": [], "by_update": [],
              "error": "ConfigError: no reward model", "stopped_run": None, "stopped_by": None}
    out = _a_sweep_in_the_workspace(window, plan, [failed])
    sweep = window.panels["Train"].sweep
    sweep.show_newest()
    assert sweep.retry.isEnabled() and not sweep.go_on.isEnabled()
    asked = []
    monkeypatch.setattr(window.session.jobs, "submit", lambda name, req: asked.append(req))
    sweep.retry.click()
    [request] = asked
    assert (request.resume, request.retry_failed) == (out, True)
    request.check()
    assert not sweep.retry.isEnabled() and sweep.status.text().startswith("running the failed")


def test_a_sweep_stopped_by_hand_goes_on_from_the_sweep_box(window, monkeypatch):
    """The newest sweep of the workspace is shown when the app opens; where trials were
    stopped by hand or had not started, Continue sweep asks for the same sweep to go on."""
    from workbench.rl.sweep_state import BY_HAND, SweepPlan
    from workbench.session.jobs import JobEvent

    plan = SweepPlan(RunConfig(scene="Reach"), (("ppo.lr=1e-4",),), (1000, 1001), 2, 2)
    stopped = {"assignments": ["ppo.lr=1e-4"], "seed": 1000, "started": True,
               "finished": False, "score": 0.25, "run": None, "curve": [(512, 0.25)],
               "by_update": [(1, 0.25)], "error": None, "stopped_run": None,
               "stopped_by": BY_HAND}
    out = _a_sweep_in_the_workspace(window, plan, [stopped])
    sweep = window.panels["Train"].sweep
    sweep.show_newest()  # as the box does when it is made
    assert sweep.go_on.isEnabled() and sweep.status.text().startswith("newest sweep: ")
    assert not sweep.retry.isEnabled()  # none failed
    assert [sweep.table.item(0, c).text() for c in range(sweep.table.columnCount())] == [
        "ppo.lr=1e-4", "0.25", "0.00", "0", "1", "0", "1"]
    asked = []
    monkeypatch.setattr(window.session.jobs, "submit", lambda name, req: asked.append(req))
    sweep.go_on.click()
    [request] = asked
    assert (request.resume, request.config.scene, request.grid) == (out, "Reach", ())
    assert not request.retry_failed
    request.check()  # the settings are the sweep's own: nothing of the panel's is added
    assert not sweep.go_on.isEnabled()
    # The sweep that went on ends on an error (its cluster gone): it can go on again.
    sweep._on_job("sweep", JobEvent("error", {"message": "RuntimeError: cluster gone"}))
    assert sweep.go_on.isEnabled() and sweep.shown == out
    assert sweep.status.text() == "sweep failed: RuntimeError: cluster gone"


def test_rank_panel_sizes_its_clips_to_the_room_it_has(window, qtbot):
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


def test_plot_keys_sit_under_the_plots_and_name_every_curve(window):
    """A legend drawn inside a panel's short plot covered the curves it named: every plot's key
    is a label of its own, with one entry per curve the plot draws."""
    import pyqtgraph as pg
    from PyQt6.QtWidgets import QLabel

    plots = window.findChildren(pg.PlotWidget)
    assert len(plots) >= 4
    for plot in plots:
        assert plot.getPlotItem().legend is None, plot.getPlotItem().titleLabel.text
    train = window.panels["Train"]
    layout = train.plot.parentWidget().layout()
    key = layout.itemAt(layout.indexOf(train.plot) + 1).widget()
    assert isinstance(key, QLabel) and len(train.plot.listDataItems()) == 5

    def named() -> list[str]:
        return [name for _, _, name in train.curves.values()
                if name.replace(" ", "&nbsp;") in key.text()]

    # Before a run: the two curves every run draws; the others join the key as they are drawn.
    assert named() == ["learned return / max", "true success, training episodes"]
    extras = {"curriculum/difficulty": 0.25, "monitor/eval_success": 0.5}
    train._show_progress({"step": 512, "total_steps": 1024, "fps": 100.0, "learned_return": 1.0,
                          "success_rate": 0.5, "extras": extras})
    assert key.text().count("<span") == 4 and "curriculum difficulty" in named()


def test_ctrl_right_drag_pulls_an_object_and_point_cloud_view_renders(window, qtbot):
    viewport, session = window.viewport, window.session
    physics = session.live.physics
    cube = physics.model.body("cube").id
    start = physics.data.xpos[cube].copy()
    pose = viewport.camera_pose()
    sx, sy = viewport.width() / 640, viewport.height() / 480

    def widget_point(world):
        x, y = pose.project(world, 640, 480)
        return QPointF(x * sx, y * sy)

    ctrl, right = Qt.KeyboardModifier.ControlModifier, Qt.MouseButton.RightButton
    goal = start + np.array([0.0, 0.08, 0.0])
    viewport.mousePressEvent(QMouseEvent(QMouseEvent.Type.MouseButtonPress,
                                         widget_point(start + [0, 0, 0.02]), right, right, ctrl))
    assert session.live.perturbation.body == cube
    viewport.mouseMoveEvent(QMouseEvent(QMouseEvent.Type.MouseMove,
                                        widget_point(goal + [0, 0, 0.02]), right, right, ctrl))
    for _ in range(30):
        window._tick()
    assert np.linalg.norm(physics.data.xpos[cube][:2] - goal[:2]) < 0.03
    viewport.mouseReleaseEvent(QMouseEvent(QMouseEvent.Type.MouseButtonRelease,
                                           widget_point(goal), right, right, ctrl))
    assert not session.live.perturbation.active and not physics.data.xfrc_applied.any()

    image = viewport.render_frame().copy()
    window.cloud_action.setChecked(True)  # View > Point cloud
    cloud = viewport.render_frame()
    assert cloud.shape == image.shape and not np.array_equal(cloud, image)
    background = (cloud == np.array([24, 26, 32], np.uint8)).all(axis=-1).mean()
    assert 0.2 < background < 0.95  # points drawn, and the empty space between them shows
    window.cloud_action.setChecked(False)


def test_reward_train_and_export_panels_run_real_jobs(window, qtbot, tmp_path):
    session = window.session
    session.recording.record_scripted(5)
    reward = window.panels["Reward"]
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not session.jobs["reward"].running and (session.jobs.poll() or True)
                    and "Spearman" in reward.report.text(), timeout=180_000)
    assert len(reward.learned_curve.getData()[0]) > 0

    # The viewport's overlay now carries the learned reward of whatever it shows.
    session.browser.open(session.browser.episodes()[0]["id"], 10)
    assert "learned_reward" in session.live.live_reward() and "progress" in window.viewport.overlay
    session.browser.close()
    train = window.panels["Train"]
    train.steps.setValue(5_000)
    train.difficulty.setValue(1.0)
    train.curriculum.setChecked(True)
    qtbot.mouseClick(train.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or bool(train.history), timeout=300_000)
    qtbot.mouseClick(train.pause, Qt.MouseButton.LeftButton)
    assert session.jobs["train"].paused and train.pause.text() == "Resume"
    qtbot.mouseClick(train.pause, Qt.MouseButton.LeftButton)
    assert not session.jobs["train"].paused
    qtbot.waitUntil(lambda: session.jobs.poll() or session.jobs["train"].state != "running",
                    timeout=300_000)
    session.jobs.poll()
    assert "evaluation success" in train.status.text(), train.status.text()
    assert len(train.success_curve.getData()[0]) >= 1
    assert len(train.difficulty_curve.getData()[0]) >= 1  # the curriculum's stage, live
    assert session.live.preview_policy is not None  # snapshots reached the viewport
    # The panel lists the stored model with its report, and the run with its success curve.
    labels = [train.reward.itemText(i) for i in range(train.reward.count())]
    assert any("progress" in label and "Spearman" in label for label in labels), labels
    train.reward.setCurrentIndex(next(i for i, label in enumerate(labels) if "Spearman" in label))
    chosen = train.run_config()  # a stored model: named by its own field, not in `reward`
    assert chosen.reward == "model" and "progress" in chosen.reward_model
    assert train.runs.rowCount() == 1 and train.runs.item(0, 2).text().endswith("%")
    train.runs.selectRow(0)
    assert len(train.past_curve.getData()[0]) >= 1

    export = window.panels["Export"]
    export.refresh()
    assert export.runs.rowCount() == 1 and export.runs.item(0, 3).text() == "—"
    assert not export.run_button.isEnabled()  # nothing to run before the export
    qtbot.mouseClick(export.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or export.run_button.isEnabled(),
                    timeout=180_000)
    assert "parity passed" in export.status.text()
    assert export.runs.item(0, 3).text() == "exported"

    # Limits: one refused (nothing written), one saved into bundle.json.
    saved = Path(export.bundle) / "bundle.json"
    before = saved.read_bytes()
    assert export.limits.rowCount() == len(json.loads(before)["safety"]["low"])
    export.limits.item(0, 0).setText("0.9")  # low above high
    export.limits.item(0, 1).setText("0.1")
    qtbot.mouseClick(export.save_limits, Qt.MouseButton.LeftButton)
    assert "not saved" in export.status.text() and "below" in export.status.text()
    assert saved.read_bytes() == before
    export.limits.item(0, 0).setText("-1")
    export.limits.item(0, 1).setText("1")
    export.limits.item(0, 2).setText("0.5")
    qtbot.mouseClick(export.save_limits, Qt.MouseButton.LeftButton)
    assert "limits saved" in export.status.text()
    assert json.loads(saved.read_bytes())["safety"]["max_velocity"][0] == 0.5

    # Every driver offers a person's take-over; the request carries it as the CLI's does.
    robot = export.robot
    for driver in range(robot.driver.count()):
        robot.driver.setCurrentIndex(driver)
        assert robot.form.isRowVisible(robot.fields["takeover"])
    robot.driver.setCurrentIndex(0)
    robot.fields["takeover"].setCurrentIndex(1)
    assert robot.request(export.bundle).takeover == "gamepad"
    robot.fields["takeover"].setCurrentIndex(0)
    assert robot.request(export.bundle).takeover == ""

    # A simulated run keeps its episodes in the workspace (on by default): the failed ones
    # are negatives for the next reward fit; other drivers record nothing.
    assert robot.keep()
    robot.driver.setCurrentIndex(2)
    assert not robot.keep() and not robot.form.isRowVisible(robot.fields["keep"])
    robot.driver.setCurrentIndex(0)
    robot.fields["episodes"].setValue(2)
    robot.fields["realtime"].setCurrentIndex(1)
    robot.fields["video"].setText(str(tmp_path / "policy.mp4"))  # and filmed
    before = len(session.context.episodes())
    qtbot.mouseClick(export.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or "runner finished" in export.status.text(),
                    timeout=120_000)
    assert "2 recorded in the workspace" in export.status.text(), export.status.text()
    assert f"filmed into {tmp_path / 'policy.mp4'}" in export.status.text()
    steps = session.live.env.task.episode_steps  # the bundle's scene, Push
    assert len(read_video(tmp_path / "policy.mp4")) == 2 * (steps + 1)
    robot.fields["video"].setText("")
    kept = session.context.episodes()[before:]
    assert [row["source"] for row in kept] == ["policy", "policy"]
    assert window.panels["Record"].episodes.count() == before + 2  # the list reloaded

    # A run at the control rate shows what it sends; Stop halts it mid-episode.
    robot.fields["realtime"].setCurrentIndex(0)
    export.robot.fields["episodes"].setValue(50)
    qtbot.mouseClick(export.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or export.live.rowCount() > 0, timeout=120_000)
    assert export.live.item(0, 1) is not None and "tick" in export.live.observation.text()
    qtbot.mouseClick(export.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or "stopped by you" in export.status.text(),
                    timeout=60_000)


def test_quality_toggle_rebuilds_the_renderer(window):
    fast = window.viewport.render_frame().copy()
    window.shadows_action.setChecked(True)  # View > Shadows and reflections
    assert window.viewport.quality.multisample and window.viewport.quality.shadows
    high = window.viewport.render_frame()
    assert high.shape == fast.shape and not np.array_equal(high, fast)
    window.shadows_action.setChecked(False)
    np.testing.assert_array_equal(window.viewport.render_frame(), fast)


def test_ctrl_drag_in_the_viewport_moves_the_gripper_while_recording(window, qtbot):
    panel = window.panels["Record"]
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    viewport, env = window.viewport, window.session.live.env
    hand = env.robot.ee_position(env.physics).copy()
    goal = hand + np.array([0.06, 0.05, 0.0])
    pose = viewport.camera_pose()
    sx, sy = viewport.width() / 640, viewport.height() / 480

    def widget_point(world):
        x, y = pose.project(world, 640, 480)
        return QPointF(x * sx, y * sy)

    ctrl = Qt.KeyboardModifier.ControlModifier
    left = Qt.MouseButton.LeftButton
    viewport.mousePressEvent(QMouseEvent(QMouseEvent.Type.MouseButtonPress, widget_point(hand),
                                         left, left, ctrl))
    viewport.mouseMoveEvent(QMouseEvent(QMouseEvent.Type.MouseMove, widget_point(goal), left,
                                        left, ctrl))
    target = window.session.recording.pointer.target
    assert np.linalg.norm(target[:2] - goal[:2]) < 0.01  # the widget's rounding, no more
    for _ in range(25):
        window._tick()
    assert np.linalg.norm(env.robot.ee_position(env.physics)[:2] - goal[:2]) < 0.02
    viewport.mouseReleaseEvent(QMouseEvent(QMouseEvent.Type.MouseButtonRelease,
                                           widget_point(goal), left, left, ctrl))
    assert not window.session.recording.pointer.dragging
    window.session.recording.stop(save=True)


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


def test_a_folder_that_is_no_lerobot_policy_is_refused_in_one_line(window, qtbot, tmp_path,
                                                                   monkeypatch):
    """The Export panel's "Try a policy LeRobot trained on the twin…": a folder without
    LeRobot's config.json is refused in one line on the panel, before LeRobot is started."""
    from gui.panels import export as export_panel

    panel = window.panels["Export"]
    monkeypatch.setattr(export_panel.QFileDialog, "getExistingDirectory",
                        lambda *_: str(tmp_path))
    qtbot.mouseClick(panel.lerobot_button, Qt.MouseButton.LeftButton)
    assert window.session.jobs["lerobot-eval"].request.robot == "so101"  # arm6 live: the SO-101
    qtbot.waitUntil(lambda: window.session.jobs.poll() or "failed" in panel.status.text(),
                    timeout=60_000)
    assert panel.status.text() == (f"lerobot-eval failed: policy: {tmp_path} has no "
                                   "config.json; give lerobot-train's pretrained_model folder")


def test_file_open_workspace_switches_live_and_refuses_a_foreign_folder(window, tmp_path):
    session, panel = window.session, window.panels["Record"]
    session.recording.record_scripted(1, with_failures=False)
    assert panel.episodes.count() == 1
    window.open_workspace(str(tmp_path / "second"))
    assert session.workspace.root == (tmp_path / "second").resolve()
    assert panel.episodes.count() == 0 and "second" in window.windowTitle()
    assert window.settings.workspace() == (tmp_path / "second").resolve()
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    window.open_workspace(str(foreign))
    assert "not a workbench workspace" in window.status.text()
    assert session.workspace.root == (tmp_path / "second").resolve()  # still usable
    session.recording.record_scripted(1, with_failures=False)
    assert panel.episodes.count() == 1


def test_a_damaged_workspace_is_rebuilt_when_the_person_agrees(window, tmp_path, monkeypatch):
    from PyQt6.QtWidgets import QMessageBox

    from gui.app import open_session

    session, panel = window.session, window.panels["Record"]
    damaged = tmp_path / "damaged"
    window.open_workspace(str(damaged))
    session.recording.record_scripted(1, with_failures=False)
    window.open_workspace(str(tmp_path / "other"))  # the damaged one closed first
    (damaged / "workbench.sqlite").write_bytes(b"not a database" * 300)
    asked = []
    for answer in (QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes):
        monkeypatch.setattr(QMessageBox, "question",
                            lambda *args, a=answer: asked.append(args[2]) or a)
        window.open_workspace(str(damaged))
    assert len(asked) == 2 and "damaged" in asked[0] and "Rebuild" in asked[0]
    assert session.workspace.root == damaged.resolve()  # declined once, then rebuilt
    assert panel.episodes.count() == 1
    assert len(list(damaged.glob("workbench.sqlite.damaged-*"))) == 1  # kept, not deleted
    # At start-up too: the app asks instead of a traceback, and opens nothing when declined.
    window.open_workspace(str(tmp_path / "other"))
    (damaged / "workbench.sqlite").write_bytes(b"not a database" * 300)
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.No)
    assert open_session(damaged) is None


def test_train_panel_offers_a_reward_learned_from_rankings_while_training(window):
    from gui.panels.train import ONLINE

    train = window.panels["Train"]
    train.reward.setCurrentText(ONLINE)
    config = train.run_config()  # what the worker will run
    assert config.online_feedback and config.reward == "latest"
    train._show_progress({"step": 2048, "total_steps": 8192, "fps": 900.0,
                          "learned_return": 3.0, "success_rate": 0.25,
                          "extras": {"feedback/labels": 14.0}})
    train._show_progress({"step": 3072, "total_steps": 8192, "fps": 900.0,
                          "learned_return": 3.5, "success_rate": 0.25, "extras": {}})
    assert "reward refitted on 14 labels" in train.status.text()
    assert len(train.evaluated_curve.getData()[0] or ()) == 0  # no guard check yet
    train._show_progress({"step": 4096, "total_steps": 8192, "fps": 900.0,
                          "learned_return": 3.6, "success_rate": 0.0,
                          "extras": {"monitor/eval_success": 0.6}})
    assert list(train.evaluated_curve.getData()[1]) == [0.6]
    assert "success 0% (mean action 60%)" in train.status.text()
    train.reward.setCurrentIndex(train.reward.findText("reference", Qt.MatchFlag.MatchStartsWith))
    config = train.run_config()
    assert not config.online_feedback and config.reward == "reference"


def test_train_panel_chooses_sac_with_its_budget_and_the_persons_take_overs(window):
    train = window.panels["Train"]
    train.reward.setCurrentIndex(train.reward.findText("reference", Qt.MatchFlag.MatchStartsWith))
    train.algorithm.setCurrentText("SAC")
    train.steps.setValue(30_000)
    train.more.widget().widget("takeovers").setChecked(True)  # under "More settings"
    config = train.run_config()
    assert config.algorithm == "sac" and config.takeovers
    assert config.sac.total_steps == 30_000 and config.ppo == RunConfig().ppo
    train.algorithm.setCurrentText("PPO")  # take-overs are SAC's: refused in one line
    with pytest.raises(ConfigError, match="takeovers"):
        train.run_config()
    train.more.widget().widget("takeovers").setChecked(False)
    assert train.run_config().ppo.total_steps == 30_000


def test_keys_take_over_a_running_bundle_and_hand_back_when_released(window, qtbot,
                                                                      monkeypatch):
    from PyQt6.QtWidgets import QLineEdit

    sent: list = []
    monkeypatch.setattr(window.session.jobs, "take_over", lambda action: sent.append(
        None if action is None else list(action)))
    keys = window.panels["Export"].keys
    keys.start(("dx", "dy", "dz", "gripper"))
    try:
        qtbot.keyPress(window, Qt.Key.Key_W)  # anywhere in the window
        keys._send()  # what the 10 Hz timer does
        assert sent == [[0.5, 0.0, 0.0, -1.0]]
        qtbot.keyRelease(window, Qt.Key.Key_W)
        keys._send()
        keys._send()
        assert sent[1:] == [None]  # handed back once, then quiet
        qtbot.keyPress(window, Qt.Key.Key_Space)  # the gripper: a command at once
        assert sent[-1] == [0.0, 0.0, 0.0, 1.0]
        field = QLineEdit(window)  # typing a value is not steering
        field.show()
        field.setFocus()
        qtbot.waitUntil(field.hasFocus)
        qtbot.keyPress(field, Qt.Key.Key_D)
        keys._send()
        assert field.text() == "d" and not keys.teleop.moving
    finally:
        keys.stop()
    qtbot.keyPress(window, Qt.Key.Key_W)  # the run ended: keys are the window's again
    assert keys.teleop is None


def test_train_on_this_goal_starts_a_run_that_the_train_panel_follows(window, qtbot):
    session, goal, train = window.session, window.panels["Goal"], window.panels["Train"]
    goal.goal.setText("push the purple cube onto the yellow pad")
    qtbot.mouseClick(goal.train, Qt.MouseButton.LeftButton)  # Push has only a green pad
    assert "train" not in session.jobs
    goal.goal.setText("make coffee")  # a sentence of no scene's: refused, not the scene's reward
    qtbot.mouseClick(goal.train, Qt.MouseButton.LeftButton)
    assert "train" not in session.jobs and "names nothing in Push" in window.status.text()
    goal.goal.setText("push the purple cube onto the green pad")
    qtbot.mouseClick(goal.train, Qt.MouseButton.LeftButton)
    assert "training toward" in goal.status.text()
    qtbot.waitUntil(lambda: session.jobs.poll() or bool(train.history), timeout=300_000)
    assert train.history and session.jobs["train"].state == "running"
    session.jobs.stop("train")  # stops after the update, evaluates and saves the policy
    qtbot.waitUntil(lambda: session.jobs.poll() or not session.jobs["train"].running,
                    timeout=300_000)
    run = session.workspace.runs("Push")[-1]
    assert run["status"] == "stopped"


def test_reward_panel_fits_a_clip_reward_from_a_local_checkpoint_folder(window, qtbot, tmp_path):
    from tests.rewards.test_clip import saved_tiny_clip

    session = window.session
    session.set_scene("Reach")
    session.recording.record_scripted(1)
    session.feedback.add_goal("reach the target")
    reward = window.panels["Reward"]
    reward.family.setCurrentIndex(reward.family.findData("clip"))
    assert reward.folder.isVisibleTo(reward)
    assert "nothing is downloaded" in reward.folder_note.text()
    errors = []
    session.events.subscribe(Problem, lambda e: errors.append(e.message))
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    assert errors and "choose the folder" in errors[-1] and "reward" not in session.jobs
    reward.folder.setText(str(saved_tiny_clip(tmp_path / "clip")))
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (session.jobs.poll() or True) and not session.jobs["reward"].running
                    and session.jobs["reward"].state != "running", timeout=400_000)
    session.jobs.poll()
    assert "clip goal model" in reward.report.text() and "Spearman" in reward.report.text(), \
        reward.report.text()
    assert session.workspace.models("Reach")[-1]["family"] == "clip_goal"
    train = window.panels["Train"]
    train.refresh()
    labels = [train.reward.itemText(i) for i in range(train.reward.count())]
    assert any("clip_goal" in label for label in labels), labels
    reward.family.setCurrentIndex(reward.family.findData("progress"))
    assert not reward.folder.isVisibleTo(reward)


def test_reward_panel_fits_on_the_cluster_it_names(window, qtbot, monkeypatch):
    """The address goes with the request; one where nothing answers is refused in seconds
    (a fit on a live cluster: tests/cluster/test_ray_cluster.py)."""
    session, reward = window.session, window.panels["Reward"]
    errors, submitted = [], []
    session.events.subscribe(Problem, lambda e: errors.append(e.message))
    reward.cluster.setText(" 127.0.0.1:1 ")
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    assert errors and errors[-1].startswith("cluster: nothing answers at 127.0.0.1:1")
    assert "reward" not in session.jobs
    monkeypatch.setattr(session.jobs, "submit", lambda name, request: submitted.append(request))
    reward.cluster.setText("auto")
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    assert [request.cluster for request in submitted] == ["auto"]


def test_reward_panel_fits_a_vision_language_model_with_the_settings_it_shows(window, qtbot):
    """The family's settings come from its config class, start at the scene's defaults and
    reach the worker as a config object (here: a short fit on small frames)."""
    import json
    from pathlib import Path

    session = window.session
    session.set_scene("Push")
    session.recording.record_scripted(2, with_failures=False)
    reward = window.panels["Reward"]
    reward.family.setCurrentIndex(reward.family.findData("vision_language"))
    qtbot.mouseClick(reward.settings_toggle, Qt.MouseButton.LeftButton)
    assert reward.settings_box.isVisibleTo(reward)
    form = reward.settings
    form.widget("frames.epochs").setValue(2)
    form.widget("frames.image_size").setValue(32)
    form.widget("counterfactuals").setValue(1)
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (session.jobs.poll() or True) and not session.jobs["reward"].running
                    and session.jobs["reward"].state != "running", timeout=400_000)
    session.jobs.poll()
    stored = session.workspace.models("Push")[-1]
    assert stored["family"] == "vision_language_progress", session.jobs["reward"].error
    assert "vision language progress model" in reward.report.text(), reward.report.text()
    saved = json.loads((Path(stored["path"]) / "config.json").read_text())["config"]
    assert saved["frames"]["epochs"] == 2 and saved["frames"]["image_size"] == 32
    assert saved["counterfactuals"] == 1



@pytest.mark.parametrize("scene", ["Push", "DrawerOpen", "CheetahRun"])
def test_settings_forms_show_every_config_exactly(qtbot, scene):
    """Each family's scene defaults and the run config read back from their forms unchanged,
    and a value the config refuses is refused with its field named."""
    from gui.panels.config_form import ConfigForm
    from workbench.config import ConfigError
    from workbench.rewards import families
    from workbench.rl.run_config import RunConfig

    configs = [f.default_config(scene) for f in families.all_families() if f.fit is not None]
    for config in [*configs, RunConfig(scene=scene)]:
        form = ConfigForm(config)
        qtbot.addWidget(form)
        assert form.config() == config
    form = ConfigForm(RunConfig(scene=scene))
    qtbot.addWidget(form)
    form.widget("ppo.gamma_final").setText("0.98")  # an optional number: empty is None
    assert form.config().ppo.gamma_final == 0.98
    form.widget("ppo.gamma_final").setText("soon")
    with pytest.raises(ConfigError, match="ppo.gamma_final must be a float or empty"):
        form.config()
    form.widget("ppo.gamma_final").setText("")
    form.widget("ppo.lr").setValue(0.0)  # nested fields are reachable by their dotted names
    with pytest.raises(ConfigError, match="ppo.lr must be in"):
        form.config()
    preference = ConfigForm(families.get("preference").default_config(scene))
    qtbot.addWidget(preference)
    preference.widget("mirror").setText("1, -1, -1")  # a tuple whose entries have choices
    assert preference.config().mirror == (1.0, -1.0, -1.0)
    preference.widget("mirror").setText("1, 2")
    with pytest.raises(ConfigError, match="mirror entries must be one of -1.0, 1.0"):
        preference.config()


def test_code_panel_checks_reward_code_plots_its_terms_and_points_at_errors(window, qtbot):
    window.session.recording.record_scripted(2)
    code = window.panels["Code"]
    names = [code.features.item(i).text().split()[0] for i in range(code.features.count())]
    assert "hand_to_cube" in names and 'f["hand_to_cube"]' in code.editor.toPlainText()
    code.check.click()
    qtbot.waitUntil(lambda: code.checked is not None, timeout=120_000)
    assert "stored as version" in code.report.text() and code.train.isEnabled()
    titles = [code.plots.itemAt(i).widget().plotItem.titleLabel.text
              for i in range(code.plots.count())]
    assert [t.split()[0] for t in titles] == ["reward", "distance"]
    assert all("demo" in t and "failure" in t for t in titles)  # the key to the curves
    assert all(code.plots.itemAt(i).widget().listDataItems() for i in range(len(titles)))
    code.editor.setPlainText("def reward(f):\n    x = 1\n    return f['nope']\n")
    assert not code.train.isEnabled()  # the checked code is not this code
    code.check.click()
    qtbot.waitUntil(lambda: "KeyError" in code.report.text(), timeout=120_000)
    assert code.editor.textCursor().blockNumber() == 2  # the cursor is on line 3
    # Hostile code is refused; the app goes on (its viewport still renders, a check still runs).
    code.editor.setPlainText("import numpy as np\ndef reward(f):\n    return np.ones(10**10)\n")
    code.check.click()
    qtbot.waitUntil(lambda: "MemoryError" in code.report.text(), timeout=120_000)
    assert code.editor.textCursor().blockNumber() == 2
    code.editor.setPlainText("import os\ndef reward(f):\n    return os.system('true')\n")
    code.check.click()
    qtbot.waitUntil(lambda: "import os" in code.report.text(), timeout=120_000)
    assert code.editor.textCursor().blockNumber() == 0
    assert window.viewport.render_frame().std() > 10


def test_code_panel_follows_a_language_model_search_and_shows_its_candidates(window):
    from workbench.rewards.code.model import EXAMPLE
    from workbench.session.events import JobUpdate
    from workbench.session.jobs import JobEvent

    code, events = window.panels["Code"], window.session.events
    events.publish(JobUpdate("author", JobEvent("started")))
    assert code.stop_asking.isVisibleTo(code)
    events.publish(JobUpdate("author", JobEvent("progress", {
        "stage": "judging candidates", "done": 1, "total": 4})))
    assert code.report.text() == "judging candidates: 2 of 4"
    events.publish(JobUpdate("author", JobEvent("stopped", {"candidates": [
        {"round": 0, "merit": 0.9, "scores": {}, "error": "", "model": "models/a",
         "training": {"success_rate": 0.5}, "source": EXAMPLE},
        {"round": 0, "merit": None, "scores": {}, "error": "line 1: import os: only numpy "
         "and math may be imported", "model": "", "training": {}, "source": "import os"}]})))
    assert not code.stop_asking.isVisibleTo(code)
    assert code.editor.toPlainText() == EXAMPLE and code.train.isEnabled()
    assert "merit 0.90, PPO success 50%" in code.report.text()
    assert "refused: line 1: import os" in code.report.text()
