"""Keyboard teleoperation of end-effector control modes, with no GUI toolkit in sight.

Keys are plain lower-case names (``"w"``, ``"space"``, ``"shift"``); the GUI and the terminal
recorder translate their own key events into these. Holding a key moves; ``shift`` doubles the
speed scale; ``space`` toggles the gripper.

=====  ==========================
key    command
=====  ==========================
w / s  +x / -x (away from / towards the robot base)
a / d  +y / -y (left / right seen from the base)
r / f  +z / -z (up / down)
space  toggle gripper open/closed
[ / ]  speed scale down / up
=====  ==========================
"""

from __future__ import annotations

import numpy as np

KEYMAP = {
    "w": ("dx", 1.0),
    "s": ("dx", -1.0),
    "a": ("dy", 1.0),
    "d": ("dy", -1.0),
    "r": ("dz", 1.0),
    "f": ("dz", -1.0),
}
_AXIS_KEYS = {"dx": "w/s: x", "dy": "a/d: y", "dz": "r/f: z", "gripper": "space: gripper"}


def controls_help(labels: tuple[str, ...], pointer: bool = False) -> str:
    """What the keyboard does in a scene whose controller takes ``labels``: only the axes it
    has (a planar pusher has no r/f), or why it cannot drive the scene at all; ``pointer``:
    the gripper target can also be dragged in the viewport (teleop.pointer)."""
    if not labels or any(label not in _AXIS_KEYS for label in labels):
        return ("the keyboard drives arms in end-effector modes; this scene's actions are "
                f"{len(labels)} joint commands, so teach it with rankings of clips, a goal "
                "sentence or reward code")
    keys = [_AXIS_KEYS[label] for label in _AXIS_KEYS if label in labels]
    text = "  ".join([*keys, "[ ]: speed", "shift: fast"])
    if pointer:
        text += "; Ctrl+drag the gripper target in the viewport (Ctrl+Shift+drag: height)"
    return text


class KeyboardTeleop:
    """Turn held keys into an action for a controller with the given labels.

    Example:
        >>> teleop = KeyboardTeleop(("dx", "dy", "dz", "gripper"))
        >>> teleop.press("w"); teleop.action()
        array([0.5, 0. , 0. , -1. ])
    """

    def __init__(self, labels: tuple[str, ...], speed: float = 0.5):
        unknown = [label for label in labels if label not in ("dx", "dy", "dz", "gripper")]
        if unknown:
            raise ValueError(
                f"keyboard teleop drives end-effector modes (dx, dy, dz, gripper); this control "
                f"mode has {labels}. Pick control_mode='ee_delta' or 'ee_delta_planar'."
            )
        self.labels = labels
        self.speed = speed
        self.gripper_open = False
        self._held: set[str] = set()

    def press(self, key: str) -> None:
        key = key.lower()
        if key == "space":
            self.gripper_open = not self.gripper_open
        elif key == "[":
            self.speed = max(0.1, round(self.speed - 0.1, 2))
        elif key == "]":
            self.speed = min(1.0, round(self.speed + 0.1, 2))
        else:
            self._held.add(key)

    def release(self, key: str) -> None:
        self._held.discard(key.lower())

    @property
    def moving(self) -> bool:
        """Whether a key that moves one of this controller's axes is held."""
        return any(key in KEYMAP and KEYMAP[key][0] in self.labels for key in self._held)

    def release_all(self) -> None:
        self._held.clear()

    def action(self) -> np.ndarray:
        scale = self.speed * (2.0 if "shift" in self._held else 1.0)
        command = dict.fromkeys(self.labels, 0.0)
        for key in self._held:
            if key in KEYMAP and KEYMAP[key][0] in command:
                axis, sign = KEYMAP[key]
                command[axis] += sign * scale
        if "gripper" in command:
            command["gripper"] = 1.0 if self.gripper_open else -1.0
        return np.clip(np.array([command[label] for label in self.labels]), -1.0, 1.0)
