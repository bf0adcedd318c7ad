"""The desktop app offscreen (pytest-qt), every panel through the real session and core."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QMouseEvent

from gui.main_window import MainWindow
from gui.settings import Settings
from workbench.session import Session


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # QSettings stay in tmp
    session = Session(tmp_path / "ws", scene="Push")
    win = MainWindow(session, Settings())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    for job in session.jobs.values():
        job.kill()
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


def test_record_panel_keyboard_take_and_scripted_demos(window, qtbot):
    panel = window.panels["Record"]
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    assert window.session.recorder is not None and panel.save.isEnabled()
    qtbot.keyPress(window.viewport, Qt.Key.Key_W)
    for _ in range(8):
        window._tick()
    qtbot.keyRelease(window.viewport, Qt.Key.Key_W)
    qtbot.keyPress(window.viewport, Qt.Key.Key_Return)
    assert window.session.recorder is None
    rows = window.session.episodes()
    assert len(rows) == 1 and rows[0]["num_steps"] == 8 and rows[0]["source"] == "teleop"
    episode = window.session.workspace.load_episode(rows[0]["id"])
    assert episode["action"][:, 0].min() > 0  # 'w' drove +x the whole take
    panel.scripted_count.setValue(2)
    qtbot.mouseClick(panel.scripted, Qt.MouseButton.LeftButton)
    sources = [r["source"] for r in window.session.episodes()]
    assert sources == ["teleop", "scripted", "scripted", "random", "perturbed", "perturbed"]
    assert panel.episodes.count() == 6


def test_rank_and_goal_panels_store_feedback(window, qtbot):
    window.session.record_scripted(3)
    rank = window.panels["Rank"]
    rank.next_pair()
    assert rank.frames[0][0].pixmap() is not None and not rank.frames[0][0].pixmap().isNull()
    for answer in ("left", "equal", "skip"):
        qtbot.mouseClick(rank.buttons[answer], Qt.MouseButton.LeftButton)
    assert [p.answer for p in window.session.workspace.preferences()] == ["left", "equal", "skip"]
    assert "3 labels" in rank.count.text()
    for _ in range(12):
        qtbot.mouseClick(rank.buttons["right"], Qt.MouseButton.LeftButton)
    reward = window.panels["Reward"]
    reward.family.setCurrentIndex(reward.family.findData("preference"))
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (window.session.poll_jobs() or True)
                    and "preference model" in reward.report.text(), timeout=180_000)
    assert "from 13 labels (3 members)" in reward.report.text()  # 15 labels, 2 held out
    goal = window.panels["Goal"]
    goal.goal.setText("slide the blue block to the goal")
    goal.baseline.setText("a block on a table")
    qtbot.mouseClick(goal.save, Qt.MouseButton.LeftButton)
    texts = [goal.goals.item(i).text() for i in range(goal.goals.count())]
    assert "slide the blue block to the goal   (vs: a block on a table)" in texts
    assert goal.goal.text() == ""
    goal.goal.setText("   ")
    qtbot.mouseClick(goal.save, Qt.MouseButton.LeftButton)  # refused, shown in the window
    assert "needs some text" in window.status.text()


def test_reward_train_and_export_panels_run_real_jobs(window, qtbot):
    session = window.session
    session.record_scripted(5)
    reward = window.panels["Reward"]
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not session.jobs["reward"].running and (session.poll_jobs() or True)
                    and "Spearman" in reward.report.text(), timeout=180_000)
    assert len(reward.learned_curve.getData()[0]) > 0

    train = window.panels["Train"]
    train.steps.setValue(5_000)
    qtbot.mouseClick(train.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.poll_jobs() or session.jobs["train"].state != "running",
                    timeout=300_000)
    session.poll_jobs()
    assert "evaluation success" in train.status.text(), train.status.text()
    assert len(train.success_curve.getData()[0]) >= 1
    assert session.preview_policy is not None  # snapshots reached the viewport

    export = window.panels["Export"]
    qtbot.mouseClick(export.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.poll_jobs() or export.run_button.isEnabled(),
                    timeout=180_000)
    assert "parity passed" in export.status.text()
    qtbot.mouseClick(export.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.poll_jobs() or "runner:" in export.status.text(),
                    timeout=180_000)


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
    viewport, env = window.viewport, window.session.env
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
    target = window.session.pointer.target
    assert np.linalg.norm(target[:2] - goal[:2]) < 0.01  # the widget's rounding, no more
    for _ in range(25):
        window._tick()
    assert np.linalg.norm(env.robot.ee_position(env.physics)[:2] - goal[:2]) < 0.02
    viewport.mouseReleaseEvent(QMouseEvent(QMouseEvent.Type.MouseButtonRelease,
                                           widget_point(goal), left, left, ctrl))
    assert not window.session.pointer.dragging
    window.session.stop_recording(save=True)


def test_a_missing_gamepad_is_reported_in_the_window_and_nothing_records(window, qtbot,
                                                                          monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    panel = window.panels["Record"]
    panel.device.setCurrentText("gamepad")
    shown = []
    monkeypatch.setattr(window, "show_error", lambda message: shown.append(message))
    window.session.subscribe("error", lambda message: shown.append(message))
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    assert window.session.recorder is None
    assert any("no gamepad found" in m for m in shown)
