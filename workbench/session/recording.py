"""Recording takes in the live scene: a person at the keyboard, a gamepad, a SpaceMouse, a
LeRobot leader arm (joint to joint onto the simulated SO-101) or dragging the hand's target in
the viewport; or the scene's scripted demonstrator."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.operations.recording import Record
from workbench.session.context import Context
from workbench.session.events import EpisodesChanged, RecordingChanged
from workbench.session.live import LiveScene
from workbench.teleop.gamepad import GamepadReader, GamepadTeleop
from workbench.teleop.keyboard import KeyboardTeleop
from workbench.teleop.leader import LeaderArm, LeaderConfig
from workbench.teleop.pointer import PointerTarget
from workbench.teleop.recorder import Recorder
from workbench.teleop.spacemouse import SpaceMouseReader, SpaceMouseTeleop

DEVICES = ("keyboard", "gamepad", "spacemouse", "leader arm")
Device = GamepadReader | SpaceMouseReader | LeaderArm


class Recording:
    def __init__(self, context: Context, live: LiveScene):
        self.context, self.live = context, live
        self.recorder: Recorder | None = None
        self.teleop: KeyboardTeleop | None = None
        self.device: Device | None = None  # while one drives
        self.pointer: PointerTarget | None = None  # the viewport's dragged hand target

    @property
    def active(self) -> bool:
        return self.recorder is not None

    def start(self, goal: str | None = None, device: str = "keyboard",
              leader: LeaderConfig | None = None) -> None:
        """Start a take driven by ``device`` (in end-effector modes the keyboard and the
        viewport's dragged target always work too). Raises RuntimeError, with what to do, when
        the device is not there; nothing is recorded then.

        The leader arm (``leader``: its LeRobot type, port and id) drives the simulated SO-101
        joint to joint: the live scene switches to that robot in joint-position control."""
        if device == "leader arm" and (self.live.env.control_mode != "joint_position"
                                       or self.live.env.robot_name != "so101"):
            self.live.load(self.context.scene, robot="so101", control_mode="joint_position")
        env = self.live.env
        if device == "leader arm":
            self.device = LeaderArm(env, leader or LeaderConfig())  # first: it may fail
            self.teleop, self.pointer = None, None
        else:
            labels = env.controller.labels
            self.device = _open_device(device, labels)  # first: it may fail
            self.teleop = KeyboardTeleop(labels)
            self.pointer = PointerTarget(labels) if hasattr(env.robot, "ee_position") else None
        self.recorder = Recorder(env, self.context.workspace, "teleop", goal=goal or None)
        self.live.episode_seed += 1
        self.live.obs = self.recorder.start(seed=self.live.episode_seed)
        self.context.events.publish(RecordingChanged(True))

    def stop(self, save: bool) -> int | None:
        """End the take, saving it or not; the saved episode's id."""
        if self.recorder is None:
            return None
        episode_id = self.recorder.save() if save else None
        if not save:
            self.recorder.discard()
        self.recorder.close()
        if self.device is not None:
            self.device.close()
        self.recorder, self.teleop, self.device, self.pointer = None, None, None, None
        self.context.events.publish(RecordingChanged(False))
        self.context.events.publish(EpisodesChanged())
        return episode_id

    def step(self) -> dict[str, Any]:
        """One control step of the take; the take ends (saved) with the episode."""
        if self.recorder is None:
            raise RuntimeError("no take is being recorded")
        self.live.obs, _, terminated, truncated, info = self.recorder.step(self.action())
        if terminated or truncated:
            self.stop(save=True)
        return info

    def action(self) -> np.ndarray:
        """The action of this tick: the dragged target while the pointer holds it, else the
        chosen device, else the keyboard. The gripper is the keyboard's (space), whatever
        moves the hand."""
        if self.recorder is None:
            raise RuntimeError("no take is being recorded")
        teleop = self.teleop
        if teleop is None:  # a device that drives joints (the leader arm) is all there is
            assert self.device is not None
            return self.device.poll()
        if self.pointer is not None and self.pointer.dragging:
            self.pointer.gripper_open = teleop.gripper_open
            arm: Any = self.live.env.robot  # the pointer is made only for a robot with a hand
            return self.pointer.action(arm.ee_position(self.live.physics))
        if self.device is not None:
            return self.device.poll()
        return teleop.action()

    def record_scripted(self, episodes: int, with_failures: bool = True) -> list[int]:
        """The scene's scripted demos and failed takes, here and now (scripts, tests; the app
        records them in a worker: ``JobBoard.record_demos``)."""
        result = self.context.perform(Record(
            scene=self.context.scene, scripted=episodes, failures=with_failures,
            robot=self.context.robot, difficulty=self.context.difficulty,
            workspace=self.context.workspace.root))
        return list(result["episodes"])


def _open_device(device: str, labels: tuple[str, ...]) -> Device | None:
    if device == "keyboard":
        return None
    if device == "gamepad":
        return GamepadReader(GamepadTeleop(labels))
    if device == "spacemouse":
        return SpaceMouseReader(SpaceMouseTeleop(labels))
    raise ValueError(f"unknown teleop device {device!r}: {', '.join(DEVICES)}")
