"""The published robots in the tabletop scenes: scripted-demonstration success per scene and
robot, and the SO-101's top-down workspace found by solving the IK over a grid.

Run: python benchmarks/stand_in_robots.py [--episodes 60] [--first-seed 0] [--difficulty 0]
                                          [--map] [--robots so101 panda arm7]
"""

from __future__ import annotations

import argparse
import json

import mujoco
import numpy as np
from scipy.optimize import least_squares

from robots.so101 import So101
from workbench.envs import make_env
from workbench.registry import SCENES, stand_ins
from workbench.teleop.recorder import scripted_successes


def scripted_success(scene: str, robot: str, episodes: int, difficulty: float,
                     first_seed: int = 0) -> float:
    env = make_env(scene, robot=robot, difficulty=difficulty)
    wins = sum(scripted_successes(env, range(first_seed, first_seed + episodes)))
    env.close()
    return wins / episodes


def so101_top_down_map() -> dict[str, list[float]]:
    """Per height, the radii from the pan axis where the grip site can point straight down with
    the jaws along world x, 0.05 rad kept from every joint limit (straight ahead)."""
    spec = So101().spec()
    model = spec.compile()
    data = mujoco.MjData(model)
    site = model.site("grip_site").id
    joints = [model.joint(j).id for j in So101.joints]
    qpos = model.jnt_qposadr[joints]
    low, high = model.jnt_range[joints].T + np.array([[0.05], [-0.05]])
    down = np.column_stack([[0, 0, -1], [0, 1, 0], [1, 0, 0]])
    reach = {}
    for z in (0.02, 0.035, 0.05, 0.065, 0.08):
        radii = []
        for r in np.arange(0.06, 0.34, 0.01):
            target = np.array([0.039 + r, 0.0, z])

            def error(q, target=target):
                data.qpos[qpos] = q
                mujoco.mj_kinematics(model, data)
                rotation = data.site_xmat[site].reshape(3, 3)
                return np.concatenate([data.site_xpos[site] - target,
                                       0.1 * (rotation - down).ravel()])

            starts = (np.array([0, 0, 0, 1.2, 0.0]), np.array([0, -0.8, 1.0, 1.2, 0.0]))
            if min(least_squares(error, s, bounds=(low, high)).cost for s in starts) < 1e-6:
                radii.append(round(float(r), 2))
        reach[f"z={z}"] = [min(radii), max(radii)] if radii else []
    return reach


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed .. first-seed + episodes - 1")
    parser.add_argument("--difficulty", type=float, default=0.0)
    parser.add_argument("--map", action="store_true", help="also map the SO-101's reach")
    parser.add_argument("--robots", nargs="+", default=["so101", "panda"],
                        help="the robots measured (arm7: the nominal arm's 7-joint sibling; "
                             "arm6: the nominal arm itself)")
    args = parser.parse_args()
    for scene in SCENES.names():
        for robot in stand_ins(scene):  # the scene's own first
            if robot not in args.robots:
                continue
            rate = scripted_success(scene, robot, args.episodes, args.difficulty,
                                    args.first_seed)
            print(json.dumps({"scene": scene, "robot": robot, "difficulty": args.difficulty,
                              "first_seed": args.first_seed, "episodes": args.episodes,
                              "scripted_success": rate}), flush=True)
    if args.map:
        print(json.dumps({"so101_top_down_radii_from_pan_axis": so101_top_down_map()}))


if __name__ == "__main__":
    main()
