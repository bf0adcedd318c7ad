"""The sim-to-real check: replay a real robot's recorded joint commands (a LeRobot dataset)
through its simulated twin and measure, joint by joint, how far the simulated joints end up
from the ones the real robot measured. Large errors on one joint point at its gains, its
friction, its speed limit or its calibration; a lag shows as error that grows with speed.

The simulated arm starts each episode where the real one was measured, then receives the
recorded commands at the dataset's rate (the physics stepped for each frame's duration); each
simulated frame is compared with the real measurement of the next frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workbench.data.formats.lerobot_joints import read_joint_trajectories
from workbench.envs.env import make_env
from workbench.export.twin import TwinError
from workbench.sim.physics import PhysicsDivergence
from workbench.teleop.leader import LeRobotUnits


def replay_dataset(dataset: str | Path, robot: str = "so101", scene: str = "Reach",
                   episodes: int | None = None) -> dict[str, Any]:
    """Per-joint tracking error of the simulated ``robot`` replaying ``dataset``: body joints
    in degrees, the gripper in % of its span (LeRobot's units)."""
    recorded = read_joint_trajectories(dataset, episodes)
    env = make_env(scene, robot=robot, control_mode="joint_position")
    try:
        units = LeRobotUnits.of(env)
        expected = units.names
        if recorded.names != expected:
            raise TwinError(f"the dataset's joints {recorded.names} are not the simulated "
                            f"{robot}'s {expected}")
        arm: Any = env.robot
        physics, controller = env.physics, env.controller
        substeps = max(1, round(1.0 / (recorded.fps * physics.model.opt.timestep)))
        differences, diverged = [], 0
        for commanded, measured in recorded.episodes:
            env.reset(seed=0)
            start = units.to_radians(dict(zip(expected, measured[0], strict=True)))
            arm.set_hardware_positions(physics, start, np.zeros_like(start))
            start = arm.simulated_positions(start)
            controller.apply(physics, controller.action_for(start))
            physics.forward()
            for t in range(len(commanded) - 1):
                target = arm.simulated_positions(
                    units.to_radians(dict(zip(expected, commanded[t], strict=True))))
                controller.apply(physics, controller.action_for(target))
                try:
                    physics.step(substeps)
                except PhysicsDivergence:
                    diverged += 1  # ends this episode, not the check
                    break
                simulated = units.to_lerobot(arm.hardware_positions(physics))
                differences.append([simulated[name] - measured[t + 1][k]
                                    for k, name in enumerate(expected)])
    finally:
        env.close()
    if not differences:
        raise TwinError(f"{dataset}: no frames to compare (episodes of one frame?)")
    error = np.asarray(differences)
    return {
        "dataset": str(dataset),
        "robot": robot,
        "fps": recorded.fps,
        "episodes": len(recorded.episodes),
        "frames": len(error),
        "diverged": diverged,
        "units": "degrees (gripper: % of its span)",
        "joints": {name.removesuffix(".pos"): {
            "rms": round(float(np.sqrt(np.mean(error[:, k] ** 2))), 3),
            "max": round(float(np.abs(error[:, k]).max()), 3),
            "bias": round(float(error[:, k].mean()), 3),  # simulated minus real, on average
        } for k, name in enumerate(expected)},
    }
