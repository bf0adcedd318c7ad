"""Teleoperation: input devices -> commands -> actions, and the episode recorder."""

from workbench.teleop.keyboard import KeyboardTeleop
from workbench.teleop.recorder import Recorder, record_policy_episodes

__all__ = ["KeyboardTeleop", "Recorder", "record_policy_episodes"]
