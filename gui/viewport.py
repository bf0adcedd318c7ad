"""The live 3D viewport: an offscreen MuJoCo render of the session's physics, shown as a QImage.

Mouse: left-drag orbits, right-drag pans, wheel zooms (MuJoCo's own camera maths,
``mjv_moveCamera``). Ctrl+right-drag pulls the object under the pointer with a spring (as in
MuJoCo's viewer; Ctrl+Shift: up and down), through the session's Qt-free ``Perturbation``.
While recording, key presses and releases drive the keyboard teleop, and Ctrl+left-drag moves
the gripper target in the table plane (Ctrl+Shift: up and down) through ``PointerTarget``.
The point-cloud view shows the cameras' fused depth instead of the rendered image.
"""

from __future__ import annotations

import mujoco
import numpy as np
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QColor, QFont, QImage, QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PyQt6.QtWidgets import QSizePolicy, QWidget

from workbench.session import Session
from workbench.session.events import Frame, SceneChanged
from workbench.sim.cloud_view import coloured_cloud, splat
from workbench.sim.render import CameraRenderer, RenderQuality, viewer_camera
from workbench.teleop.pointer import CameraPose

RENDER_SIZE = (640, 480)
CLOUD_SIZE = (160, 120)  # depth resolution per camera for the point-cloud view
OVERLAY_KEYS = ("progress", "reference_reward", "learned_reward")
KEY_NAMES = {
    Qt.Key.Key_Space: "space",
    Qt.Key.Key_Shift: "shift",
    Qt.Key.Key_BracketLeft: "[",
    Qt.Key.Key_BracketRight: "]",
}


def key_name(event: QKeyEvent) -> str | None:
    """A key event as the keyboard teleop's key name (workbench.teleop.keyboard)."""
    if event.key() in KEY_NAMES:
        return KEY_NAMES[event.key()]
    text = event.text().lower()
    return text if text and text.isprintable() else None


class Viewport(QWidget):
    def __init__(self, session: Session, shadows: bool = False):
        super().__init__()
        self.session = session
        self.quality = self._quality(shadows)
        self.setMinimumSize(480, 360)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.camera_name: str | None = None  # None: the free, mouse-driven camera
        self.free_camera = mujoco.MjvCamera()
        self.renderer: CameraRenderer | None = None
        self.cloud_renderer: CameraRenderer | None = None
        self.point_cloud = False
        self._perturbing = False
        self.last_frame: np.ndarray | None = None
        self.overlay: dict[str, float] = {}
        self._drag: tuple[Qt.MouseButton, QPointF] | None = None
        session.events.subscribe(SceneChanged, lambda e: self.rebuild())
        session.events.subscribe(Frame, lambda e: self._on_frame(e.info))
        self.rebuild()

    def rebuild(self) -> None:
        model = self.session.live.physics.model
        self.rebuild_renderer()
        self.free_camera = viewer_camera(model, self.session.live.env.viewer)
        self.camera_name = None
        self.update()

    @staticmethod
    def _quality(high: bool) -> RenderQuality:
        """High: shadows, reflections, sky, anti-aliasing. Fast (default): none of them, several
        times cheaper on a CPU renderer, so the viewport keeps its frame rate while training."""
        return RenderQuality(shadows=high, reflections=high, skybox=high, multisample=high)

    def set_quality(self, shadows: bool) -> None:
        self.quality = self._quality(shadows)
        self.rebuild_renderer()

    def rebuild_renderer(self) -> None:
        """A new GL framebuffer: anti-aliasing is fixed when it is made."""
        for renderer in (self.renderer, self.cloud_renderer):
            if renderer is not None:
                renderer.close()
        model = self.session.live.physics.model
        self.renderer = CameraRenderer(model, *RENDER_SIZE, quality=self.quality)
        self.cloud_renderer = None  # made when the point-cloud view is first shown
        self.update()

    def set_point_cloud(self, on: bool) -> None:
        self.point_cloud = on
        self.update()

    def camera_choices(self) -> list[str]:
        return ["free"] + (self.renderer.camera_names() if self.renderer else [])

    def set_camera(self, name: str) -> None:
        self.camera_name = None if name == "free" else name
        self.update()

    def _on_frame(self, info: dict) -> None:
        self.overlay = {k: info[k] for k in OVERLAY_KEYS if k in info}
        if "success" in info:
            self.overlay["success"] = float(info["success"])
        self.update()

    def render_frame(self) -> np.ndarray:
        physics = self.session.live.physics
        cameras = self.renderer.camera_names()
        if self.point_cloud and cameras:
            if self.cloud_renderer is None:
                self.cloud_renderer = CameraRenderer(physics.model, *CLOUD_SIZE)
            points, colours = coloured_cloud(self.cloud_renderer, physics, cameras)
            self.last_frame = splat(points, colours, self.camera_pose(), *RENDER_SIZE)
        else:
            camera = self.camera_name if self.camera_name else self.free_camera
            self.last_frame = self.renderer.rgb(physics.data, camera)
        return self.last_frame

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        frame = self.render_frame()
        height, width, _ = frame.shape
        image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        painter = QPainter(self)
        target = self.rect()
        painter.drawImage(target, image)
        painter.setPen(QColor(255, 255, 255))
        painter.setFont(QFont("Sans", 10))
        lines = []
        if self.session.recording.active:
            lines.append("● REC  (w/s a/d r/f move, Ctrl+drag the gripper, space gripper, "
                         "Enter save, Esc discard)")
        elif self.session.browser.episode is not None:
            browser = self.session.browser
            lines.append(f"▶ episode {browser.episode.id}  frame {browser.t + 1}/{browser.length}")
        elif self.session.live.preview_policy is not None:
            lines.append("policy preview (latest training snapshot)")
        if self.point_cloud:
            lines.append("point cloud (the cameras' fused depth)")
        for key, value in self.overlay.items():
            lines.append(f"{key}: {value:.2f}")
        for i, text in enumerate(lines):
            painter.drawText(10, 20 + 16 * i, text)
        painter.end()

    # -- mouse: orbit, pan, zoom -------------------------------------------------------------
    def camera_pose(self) -> CameraPose:
        """The pinhole camera the viewport shows, for turning pixels into rays."""
        physics = self.session.live.physics
        if self.camera_name:
            return CameraPose.of_model_camera(physics, self.camera_name)
        cam = self.free_camera
        return CameraPose.of_free_camera(cam.lookat.copy(), cam.distance, cam.azimuth,
                                         cam.elevation, physics.model.vis.global_.fovy)

    def _render_xy(self, position: QPointF) -> tuple[float, float]:
        return (position.x() * RENDER_SIZE[0] / max(self.width(), 1),
                position.y() * RENDER_SIZE[1] / max(self.height(), 1))

    def _target_drag(self, event: QMouseEvent) -> bool:
        pointer = self.session.recording.pointer
        if pointer is None or not pointer.dragging:
            return False
        vertical = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        pointer.drag(self.camera_pose(), *self._render_xy(event.position()), *RENDER_SIZE,
                     vertical=vertical)
        self.update()
        return True

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus()
        if (event.button() == Qt.MouseButton.RightButton
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            x, y = self._render_xy(event.position())
            body = self.session.grab_object(self.camera_pose(), x, y, *RENDER_SIZE)
            self._perturbing = body is not None
            if self._perturbing:
                return
        pointer = self.session.recording.pointer
        if (pointer is not None and event.button() == Qt.MouseButton.LeftButton
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            env = self.session.live.env
            pointer.grab(env.robot.ee_position(env.physics))
            self._target_drag(event)
            return
        self._drag = (event.button(), event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag = None
        if self._perturbing:
            self.session.live.release_object()
            self._perturbing = False
        if self.session.recording.pointer is not None:
            self.session.recording.pointer.release()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._perturbing:
            vertical = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.session.live.drag_object(self.camera_pose(), *self._render_xy(event.position()),
                                     *RENDER_SIZE, vertical=vertical)
            return
        if self._target_drag(event) or self._drag is None:
            return
        button, last = self._drag
        delta = event.position() - last
        self._drag = (button, event.position())
        action = (
            mujoco.mjtMouse.mjMOUSE_ROTATE_V
            if button == Qt.MouseButton.LeftButton
            else mujoco.mjtMouse.mjMOUSE_MOVE_V
        )
        self.move_camera(action, delta.x() / self.height(), delta.y() / self.height())

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        # Wheel away from you zooms in (a positive dy moves the camera closer).
        self.move_camera(mujoco.mjtMouse.mjMOUSE_ZOOM, 0.0, 0.05 * event.angleDelta().y() / 120)

    def move_camera(self, action: mujoco.mjtMouse, dx: float, dy: float) -> None:
        self.camera_name = None
        if action == mujoco.mjtMouse.mjMOUSE_MOVE_V:  # panning frees a tracking camera
            self.free_camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        mujoco.mjv_moveCamera(self.session.live.physics.model, action, dx, dy, self.free_camera)
        self.update()

    # -- keys: teleop while recording --------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        recording = self.session.recording
        if not recording.active:
            return super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            recording.stop(save=True)
        elif event.key() == Qt.Key.Key_Escape:
            recording.stop(save=False)
        elif (recording.teleop is not None and not event.isAutoRepeat()
              and (name := key_name(event))):
            recording.teleop.press(name)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        teleop = self.session.recording.teleop
        if teleop is not None and not event.isAutoRepeat() and (name := key_name(event)):
            teleop.release(name)

    def release(self) -> None:
        """Free the GL contexts now rather than at garbage collection."""
        for renderer in (self.renderer, self.cloud_renderer):
            if renderer is not None:
                renderer.close()
        self.renderer = self.cloud_renderer = None
