"""What rendering the frames a model reads costs: both 64x64 views of a scene's perceptual
defaults, rendered after each step of one env, with 4x multisampling (the viewer's default)
and without (``MODEL_FRAMES``, what the recorder and the training envs render), and the step
alone. Interleaved in one process, so the machine's noise falls on both.

Run: python benchmarks/frame_render.py [--scene Push] [--steps 400] [--size 64]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import workbench  # noqa: F401
from workbench.envs import make_env
from workbench.rewards.workflow import perceptual_defaults
from workbench.sim.render import MODEL_FRAMES, CameraRenderer, RenderQuality


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="Push")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    cameras = perceptual_defaults(args.scene).cameras
    env = make_env(args.scene)
    env.reset(seed=0)
    model, data = env.physics.model, env.physics.data
    renderers = {"multisampled": CameraRenderer(model, args.size, args.size, RenderQuality()),
                 "MODEL_FRAMES": CameraRenderer(model, args.size, args.size, MODEL_FRAMES)}
    seconds = {"step": 0.0, **{name: 0.0 for name in renderers}}
    rng = np.random.default_rng(0)
    for _ in range(args.steps):
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(rng.uniform(-1, 1, env.action_space.shape))
        seconds["step"] += time.perf_counter() - start
        if terminated or truncated:
            env.reset()
        for name, renderer in renderers.items():
            start = time.perf_counter()
            for camera in cameras:
                renderer.rgb(data, camera)
            seconds[name] += time.perf_counter() - start
    ms = {name: round(1000 * s / args.steps, 2) for name, s in seconds.items()}
    print(json.dumps({"scene": args.scene, "cameras": list(cameras), "size": args.size,
                      "ms_per_step": ms,
                      "ratio": round(ms["multisampled"] / ms["MODEL_FRAMES"], 2)}))


if __name__ == "__main__":
    main()
