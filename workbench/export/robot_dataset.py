"""Simulated takes as the real robot's LeRobot dataset: each step's measured joint positions
(``observation.state``) and the positions its servos were commanded to (``action``), named and
scaled as LeRobot's driver reports the real robot's (``shoulder_pan.pos`` in degrees, the
gripper in % of its span), which is what ``lerobot-record`` writes. A policy LeRobot trains on
such a dataset (``lerobot-train``) then drives the real arm with ``lerobot-record
--policy.path``, and ``workbench sim-to-real`` replays the dataset as it would a real one.

Both come out of the stored simulator states: the joints' positions, and the actuators'
targets, which hold the command applied during the step that led to the state (whatever the
take's control mode: the end-effector modes solve their IK into those targets).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.data.episode import Episode
from workbench.data.formats.lerobot_joints import RobotJoints
from workbench.envs.env import make_env
from workbench.registry import ROBOTS
from workbench.teleop.leader import LeRobotUnits


def lerobot_robots() -> dict[str, str]:
    """The robots whose real counterpart LeRobot drives: name -> LeRobot's robot type."""
    found = {}
    for name in ROBOTS.names():
        lerobot_type = getattr(ROBOTS.load(name), "lerobot_type", "")
        if lerobot_type:
            found[name] = lerobot_type
    return found


def robot_joints(episodes: list[Episode]) -> RobotJoints:
    """The takes' joints in the real robot's LeRobot names and units; the takes must all come
    from one robot that has a LeRobot counterpart (see :func:`lerobot_robots`)."""
    if not episodes:
        raise ValueError("no takes to write as a robot's joints")
    first = episodes[0].meta
    robot = first["meta"].get("robot") or ""
    known = lerobot_robots()
    if robot not in known:
        offered = ", ".join(f"{name} ({kind})" for name, kind in sorted(known.items()))
        raise ValueError(f"--layout joints: {robot or 'this scene'}'s takes have no real "
                         f"counterpart that LeRobot drives; these robots do: {offered}")
    env = make_env(first["scene"], robot=robot,
                   control_mode=first["meta"].get("control_mode"))
    try:
        arm: Any = env.robot
        units = LeRobotUnits.of(env)
        size = len(env.physics.snapshot())  # the physics' part of a stored state
        out = {}
        for episode in episodes:
            if ((episode.meta["meta"].get("robot") or "") != robot
                    or episode.meta["scene"] != first["scene"]):
                raise ValueError("--layout joints: the takes come from several robots or "
                                 "scenes; export one scene's takes of one robot (--scene, "
                                 "--robot)")
            states = np.concatenate([episode.initial()["sim_state"][None],
                                     episode["sim_state"]])
            measured, commanded = [], []
            for state in states:
                env.physics.restore(state[:size])
                measured.append(units.vector(arm.hardware_positions(env.physics)))
                commanded.append(units.vector(arm.hardware_targets(env.physics)))
            # The state before each step, and the targets the step ran towards (stored after it).
            out[episode.id] = (np.asarray(measured[:-1]), np.asarray(commanded[1:]))
    finally:
        env.close()
    return RobotJoints(known[robot], units.names, out)
