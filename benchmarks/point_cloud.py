"""Point-cloud observation rate: two cameras' depth at 128x128, fused, cropped to the robot's
workspace, voxel-downsampled and put in the robot base frame, per env step.

Reports env steps per second with point-cloud observations, and, in the same process, the rate
of the pieces: RGB+depth rendering of both cameras alone, and the fusion alone.

Run: python benchmarks/point_cloud.py [--scene Push] [--steps 300] [--size 128]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import workbench  # noqa: F401
from workbench.envs import make_env
from workbench.sim.pointcloud import depth_to_points


def rate(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="Push")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--points", type=int, default=1024)
    parser.add_argument("--cameras", nargs="+", default=["front", "top"])
    args = parser.parse_args()
    env = make_env(args.scene, obs_mode="pixels", cameras=tuple(args.cameras),
                   image_size=args.size, point_cloud=args.points)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (args.steps, *env.action_space.shape))
    steps = iter(actions)
    with_cloud = rate(lambda: env.step(next(steps)), args.steps)

    renderer, data, model = env._renderer, env.physics.data, env.physics.model

    def render_only():
        for cam in args.cameras:
            renderer.rgb(data, cam)
            renderer.depth(data, cam)

    depths = [renderer.depth(data, cam) for cam in args.cameras]

    def fuse_only():
        env._points([depth_to_points(model, data, c, d) for c, d in zip(args.cameras, depths,
                                                                         strict=True)])

    result = {
        "scene": args.scene, "cameras": args.cameras, "size": args.size, "points": args.points,
        "env_steps_per_s_with_point_cloud": round(with_cloud, 1),
        "render_rgb_depth_per_s": round(rate(render_only, args.steps // 3), 1),
        "fuse_crop_voxel_per_s": round(rate(fuse_only, args.steps // 3), 1),
    }
    env.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
