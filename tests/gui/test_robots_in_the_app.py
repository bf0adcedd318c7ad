"""The robot a person picks in the app: the lists offered, who follows whom, and what a real robot
is offered."""

from __future__ import annotations

from PyQt6.QtCore import Qt

from gui.main_window import MainWindow
from gui.settings import Settings
from workbench.session import Session


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
