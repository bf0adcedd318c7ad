"""Gamepad teleoperation through SDL2 (pygame), Qt-free.

Layout (SDL's standard game controller numbering, which Xbox- and PlayStation-style pads share):

==================  =======================================
input               command
==================  =======================================
left stick          x (up = away from the base), y (left = +y)
right stick up/down z
A / cross (0)       toggle gripper
LB (4) / RB (5)     speed scale down / up
==================  =======================================

:class:`GamepadTeleop` parses SDL joystick events (``JOYAXISMOTION``, ``JOYBUTTONDOWN``,
``JOYHATMOTION``) into a held state; :class:`GamepadReader` opens the first pad with pygame and
feeds it the events SDL delivers. Tests drive the same parser with events posted to SDL's real
event queue.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from workbench.teleop.devices import Twist, check_labels, twist_to_action

DEADZONE = 0.12  # stick travel ignored around centre: pads rarely rest at exactly 0
AXIS_X, AXIS_Y, AXIS_Z = 1, 0, 4  # left stick vertical, left stick horizontal, right stick vert.
BUTTON_GRIPPER, BUTTON_SLOWER, BUTTON_FASTER = 0, 4, 5


def _import_pygame():
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError as exc:  # pragma: no cover - pygame is a declared dependency
        raise RuntimeError("gamepad teleop needs pygame: pip install pygame") from exc
    return pygame


class GamepadTeleop:
    """Joystick events in, actions out.

    Example:
        >>> pad = GamepadTeleop(("dx", "dy", "dz", "gripper"))
        >>> pad.handle(pygame.event.Event(pygame.JOYAXISMOTION, axis=1, value=-1.0))
        >>> pad.action()  # stick pushed up: move away from the base
        array([ 0.5,  0. ,  0. , -1. ])
    """

    def __init__(self, labels: tuple[str, ...], speed: float = 0.5):
        check_labels(labels, "gamepad")
        self.labels = labels
        self.speed = speed
        self.gripper_open = False
        self._axes: dict[int, float] = {}
        self._pygame = _import_pygame()

    def handle(self, event: Any) -> None:
        pg = self._pygame
        if event.type == pg.JOYAXISMOTION:
            value = float(event.value)
            self._axes[event.axis] = 0.0 if abs(value) < DEADZONE else value
        elif event.type == pg.JOYBUTTONDOWN:
            if event.button == BUTTON_GRIPPER:
                self.gripper_open = not self.gripper_open
            elif event.button == BUTTON_SLOWER:
                self.speed = max(0.1, round(self.speed - 0.1, 2))
            elif event.button == BUTTON_FASTER:
                self.speed = min(1.0, round(self.speed + 0.1, 2))
        elif event.type == pg.JOYDEVICEREMOVED:
            self._axes.clear()  # a pad pulled out mid-take must not leave the arm moving

    def twist(self) -> Twist:
        axis = self._axes.get
        # SDL sticks read -1 when pushed up; the arm's +x is away from the base.
        return Twist(np.array([-axis(AXIS_X, 0.0), -axis(AXIS_Y, 0.0), -axis(AXIS_Z, 0.0)]),
                     gripper_open=self.gripper_open)

    def action(self) -> np.ndarray:
        return twist_to_action(self.twist(), self.labels, self.speed)


class GamepadReader:
    """Pumps SDL's event queue into a :class:`GamepadTeleop`; opens the first pad it finds."""

    def __init__(self, teleop: GamepadTeleop, require_device: bool = True):
        self.pg = _import_pygame()
        self.pg.init()
        self.pg.joystick.init()
        self.teleop = teleop
        self.joystick = None
        if self.pg.joystick.get_count() > 0:
            self.joystick = self.pg.joystick.Joystick(0)
        elif require_device:
            raise RuntimeError(
                "no gamepad found: plug one in (SDL sees none), or pick another teleop device"
            )

    def poll(self) -> np.ndarray:
        """Handle every pending joystick event and return the current action."""
        pg = self.pg
        for event in pg.event.get((pg.JOYAXISMOTION, pg.JOYBUTTONDOWN, pg.JOYHATMOTION,
                                   pg.JOYDEVICEREMOVED)):
            self.teleop.handle(event)
        return self.teleop.action()

    def close(self) -> None:
        self.pg.joystick.quit()
