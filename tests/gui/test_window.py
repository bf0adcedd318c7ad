"""The main window offscreen: the viewport, its camera and drags, the scene picker and the
workspace menu."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QMouseEvent


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
