"""3Dconnexion SpaceMouse teleoperation over raw HID reports (hidapi), Qt-free.

HID reports (little-endian int16 values, about +-350 at full deflection):

* report 1, 7 bytes: translation x (right), y (towards the user), z (down);
* report 1, 13 bytes (newer receivers and the Compact): translation then rotation in one report;
* report 2, 7 bytes: rotation rx, ry, rz (older devices send it separately);
* report 3: a bitmask of the buttons (bit 0 left, bit 1 right).

Mapping, for a user behind the robot looking along +x: push the cap away = +x, left = +y,
lift = +z; twisting it is the yaw rate. The left button toggles the gripper; the right one cycles
the speed scale. :class:`SpaceMouseTeleop` parses reports; :class:`SpaceMouseReader` reads
them from the device with ``hidapi``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from workbench.teleop.devices import Twist, check_labels, twist_to_action

FULL_SCALE = 350.0
DEADZONE = 0.08
# (vendor id, product id) of the 3Dconnexion devices this reader knows.
KNOWN_DEVICES = {
    (0x046D, 0xC626): "SpaceNavigator",
    (0x046D, 0xC627): "SpaceExplorer",
    (0x046D, 0xC62B): "SpaceMouse Pro",
    (0x256F, 0xC62E): "SpaceMouse Wireless (cabled)",
    (0x256F, 0xC62F): "SpaceMouse Wireless (receiver)",
    (0x256F, 0xC631): "SpaceMouse Pro Wireless (cabled)",
    (0x256F, 0xC632): "SpaceMouse Pro Wireless (receiver)",
    (0x256F, 0xC635): "SpaceMouse Compact",
    (0x256F, 0xC652): "3Dconnexion Universal Receiver",
}
SPEEDS = (0.25, 0.5, 1.0)


class SpaceMouseTeleop:
    def __init__(self, labels: tuple[str, ...], speed: float = 0.5):
        check_labels(labels, "SpaceMouse")
        self.labels = labels
        self.speed = speed
        self.gripper_open = False
        self.translation = np.zeros(3)  # device frame, normalised
        self.rotation = np.zeros(3)
        self._buttons = 0

    def handle_report(self, report: Sequence[int]) -> None:
        """Parse one HID input report (report id first, as hidapi returns it)."""
        data = bytes(report)
        if not data:
            return
        kind = data[0]
        if kind == 1 and len(data) >= 13:
            values = np.array(struct.unpack("<6h", data[1:13]), dtype=float) / FULL_SCALE
            self.translation, self.rotation = values[:3], values[3:]
        elif kind == 1 and len(data) >= 7:
            self.translation = np.array(struct.unpack("<3h", data[1:7]), dtype=float) / FULL_SCALE
        elif kind == 2 and len(data) >= 7:
            self.rotation = np.array(struct.unpack("<3h", data[1:7]), dtype=float) / FULL_SCALE
        elif kind == 3 and len(data) >= 2:
            pressed = data[1] & ~self._buttons  # rising edges only
            if pressed & 0b01:
                self.gripper_open = not self.gripper_open
            if pressed & 0b10:
                self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)] if (
                    self.speed in SPEEDS) else SPEEDS[0]
            self._buttons = data[1]

    def twist(self) -> Twist:
        t = np.where(np.abs(self.translation) < DEADZONE, 0.0, self.translation)
        yaw = self.rotation[2] if abs(self.rotation[2]) >= DEADZONE else 0.0
        # Device x right, y towards the user, z down -> robot +x away, +y left, +z up.
        linear = np.clip(np.array([-t[1], -t[0], -t[2]]), -1.0, 1.0)
        return Twist(linear, yaw=float(-yaw), gripper_open=self.gripper_open)

    def action(self) -> np.ndarray:
        return twist_to_action(self.twist(), self.labels, self.speed)


class SpaceMouseReader:
    """Reads HID reports from the first known 3Dconnexion device into a teleop."""

    def __init__(self, teleop: SpaceMouseTeleop):
        try:
            import hid
        except ImportError as exc:  # pragma: no cover - hidapi is a declared dependency
            raise RuntimeError("SpaceMouse teleop needs hidapi: pip install hidapi") from exc
        self.teleop = teleop
        found = [(d["vendor_id"], d["product_id"]) for d in hid.enumerate()
                 if (d["vendor_id"], d["product_id"]) in KNOWN_DEVICES]
        if not found:
            raise RuntimeError(
                "no SpaceMouse found: plug one in, and on Linux allow access to it with a udev "
                'rule such as SUBSYSTEM=="hidraw", ATTRS{idVendor}=="256f", MODE="0666"'
            )
        self.name = KNOWN_DEVICES[found[0]]
        self.device = hid.device()
        self.device.open(*found[0])
        self.device.set_nonblocking(True)

    def poll(self) -> np.ndarray:
        while report := self.device.read(64):
            self.teleop.handle_report(report)
        return self.teleop.action()

    def close(self) -> None:
        self.device.close()
