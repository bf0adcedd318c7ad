"""What every teleop device shares: turning a device's 6-D twist into a control-mode action.

Devices differ in how they are read (keys, SDL joystick events, HID reports, a dragged pointer);
they all end in a :class:`Twist` (metres-per-tick fractions along x, y, z; a yaw rate; a gripper
state), which :func:`twist_to_action` maps onto the labels of the env's control mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EE_LABELS = ("dx", "dy", "dz", "gripper")


@dataclass
class Twist:
    linear: np.ndarray  # (3,) each in [-1, 1]
    yaw: float = 0.0  # [-1, 1]
    gripper_open: bool = False


def check_labels(labels: tuple[str, ...], device: str) -> None:
    unknown = [label for label in labels if label not in EE_LABELS]
    if unknown:
        raise ValueError(
            f"{device} teleop drives end-effector modes (dx, dy, dz, gripper); this control "
            f"mode has {labels}. Pick control_mode='ee_delta' or 'ee_delta_planar', or use "
            f"workbench.teleop.legged for legged robots."
        )


def twist_to_action(twist: Twist, labels: tuple[str, ...], speed: float) -> np.ndarray:
    values = {"dx": twist.linear[0], "dy": twist.linear[1], "dz": twist.linear[2],
              "gripper": 1.0 if twist.gripper_open else -1.0}
    action = np.array([values[label] * (speed if label != "gripper" else 1.0)
                       for label in labels])
    return np.clip(action, -1.0, 1.0)
