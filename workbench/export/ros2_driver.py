"""Drive a bundle through ROS 2: read ``sensor_msgs/JointState`` from ``<ns>/joint_states``,
publish joint position targets as ``sensor_msgs/JointState`` on ``<ns>/joint_command`` (names
and positions, SI units: rad, and the gripper in its joint's unit), with the bundle's scene as
the twin (``workbench/export/twin.py``). Joints are matched by name, so the robot may publish
more joints and in any order; a missing one is refused before anything moves.

rclpy comes from PyPI's ``ros-rclpy`` wheels (with ``ros-rmw-fastrtps-cpp`` and
``ros-sensor-msgs``): ``pip install 'robot-reward-workbench[ros]'``, no ROS installation.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from workbench.export.twin import TwinDriver, TwinError


class Ros2Error(TwinError):
    pass


class Ros2Driver(TwinDriver):
    """A twin driver over ROS 2 topics, on its own rclpy context."""

    def __init__(self, meta: dict[str, Any], namespace: str = "", seed: int = 0,
                 timeout: float = 5.0):
        super().__init__(meta, seed)
        self.namespace = namespace.rstrip("/")
        self.timeout = timeout
        self._latest: Any = None
        self._arrived = threading.Condition()
        self._context: Any = None
        self._order: np.ndarray | None = None

    def connect(self) -> None:
        try:
            import rclpy
            from rclpy.executors import SingleThreadedExecutor
            from sensor_msgs.msg import JointState
        except ImportError as exc:
            raise Ros2Error(f"--robot ros2 needs rclpy: pip install "
                            f"'robot-reward-workbench[ros]' ({exc})") from None
        self._JointState = JointState
        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self._node = rclpy.create_node("workbench_runner", context=self._context)
        self._node.create_subscription(JointState, f"{self.namespace}/joint_states",
                                       self._heard, 10)
        self._publisher = self._node.create_publisher(
            JointState, f"{self.namespace}/joint_command", 10)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        # Spin in short slices until told to stop: shutting an executor down from another
        # thread while it spins can deadlock inside rclpy.
        self._stopping = threading.Event()
        self._spinner = threading.Thread(target=self._spin, daemon=True)
        self._spinner.start()
        with self._arrived:
            if not self._arrived.wait_for(lambda: self._latest is not None, self.timeout):
                self.disconnect()
                raise Ros2Error(f"no sensor_msgs/JointState on {self.namespace}/joint_states "
                                f"within {self.timeout:g} s")
        names = list(self._latest.name)
        missing = [j for j in self.joints if j not in names]
        if missing:
            self.disconnect()
            raise Ros2Error(f"the robot's joints {names} lack the bundle's {missing}: this "
                            f"bundle was trained for {self.trained_for!r}")
        self._order = np.array([names.index(j) for j in self.joints])

    def _spin(self) -> None:
        while not self._stopping.is_set():
            self._executor.spin_once(timeout_sec=0.02)

    def _heard(self, message: Any) -> None:
        with self._arrived:
            self._latest = message
            self._arrived.notify_all()

    def measure(self) -> np.ndarray:
        with self._arrived:
            message = self._latest
        return np.asarray(message.position, np.float64)[self._order]

    def command(self, positions: np.ndarray) -> None:
        if self._context is None:
            return
        message = self._JointState()
        message.header.stamp = self._node.get_clock().now().to_msg()
        message.name = list(self.joints)
        message.position = [float(p) for p in positions]
        self._publisher.publish(message)

    def disconnect(self) -> None:
        if self._context is None:
            return
        self._stopping.set()
        self._spinner.join(timeout=5.0)  # the spinner is done before anything is torn down
        self._executor.remove_node(self._node)
        self._node.destroy_node()
        self._context.try_shutdown()
        self._context = None
