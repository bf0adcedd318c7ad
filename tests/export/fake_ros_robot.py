"""A robot on ROS 2 joint topics, as a real node: publishes ``sensor_msgs/JointState`` on
``<ns>/joint_states`` at 100 Hz and moves each joint towards the last target heard on
``<ns>/joint_command`` at ``speed`` per second (its own rclpy context, in a thread)."""

from __future__ import annotations

import threading

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import JointState


class FakeRosRobot:
    def __init__(self, names: list[str], start: np.ndarray, namespace: str = "",
                 speed: float = 3.0):
        self.names = list(names)
        self.position = np.array(start, np.float64)
        self.target = self.position.copy()
        self.speed = speed
        self.commands = 0
        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self._node = rclpy.create_node("fake_robot", context=self._context)
        self._publisher = self._node.create_publisher(JointState, f"{namespace}/joint_states", 10)
        self._node.create_subscription(JointState, f"{namespace}/joint_command", self._heard, 10)
        self._period = 0.01
        self._node.create_timer(self._period, self._tick)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)

    def _spin(self) -> None:  # short slices: an executor shut down mid-spin can deadlock
        while not self._stopping.is_set():
            self._executor.spin_once(timeout_sec=0.02)

    def _heard(self, message: JointState) -> None:
        for name, value in zip(message.name, message.position, strict=True):
            if name in self.names:
                self.target[self.names.index(name)] = value
        self.commands += 1

    def _tick(self) -> None:
        step = self.speed * self._period
        self.position += np.clip(self.target - self.position, -step, step)
        message = JointState()
        message.header.stamp = self._node.get_clock().now().to_msg()
        message.name = self.names
        message.position = self.position.tolist()
        self._publisher.publish(message)

    def __enter__(self) -> FakeRosRobot:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self._thread.join(timeout=5.0)
        self._executor.remove_node(self._node)
        self._node.destroy_node()
        self._context.try_shutdown()
