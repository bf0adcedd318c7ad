"""Reward inference throughput on the CPU: frames per second of a perceptual progress model
over two 84x84 views, against the rate the simulator produces those frames.

In the same process: (1) the env renders two 84x84 views per step (the pixels observation
mode), (2) the perceptual model scores batches of such frames, (3) the state progress model
scores batches of states, as an MLP and as kernel regression over 510 or 8,192 fitted states,
(4) a preference ensemble (3 members of 64x64) scores them, plain and with a mirror symmetry
(``preference.mirror``: two passes; with ``mirror_order``, a gather too), in batches of 4,096
and of 8 (one step of 8 envs).
The reward never bottlenecks training when (2) and (3) are faster than (1).

Run: python benchmarks/reward_throughput.py [--scene Push] [--batch 256] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import workbench  # noqa: F401
from workbench.envs import make_env
from workbench.rewards.perceptual import PerceptualConfig, PerceptualProgressModel
from workbench.rewards.preference import PreferenceConfig, PreferenceRewardModel
from workbench.rewards.progress import ProgressConfig, ProgressRewardModel


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="Push")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cameras = ("front", "top")
    env = make_env(args.scene, obs_mode="pixels", cameras=cameras, image_size=84)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    frames = []
    for _ in range(args.steps):
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape))
        frames.append(np.stack([obs[c] for c in cameras]))
    sim_rate = args.steps / (time.perf_counter() - start)
    batch = np.stack((frames * (args.batch // len(frames) + 1))[: args.batch])

    results = {"scene": args.scene, "views": 2, "size": 84, "batch": args.batch,
               "threads": args.threads, "sim_frames_per_s": round(sim_rate, 1)}
    for size in (84, 64):
        model = PerceptualProgressModel(args.scene, PerceptualConfig(cameras=cameras,
                                                                     image_size=size), "cpu")
        seconds = timed(lambda m=model: m.progress(batch, batch=args.batch), 5)
        results[f"perceptual_{size}px_frames_per_s"] = round(args.batch / seconds, 1)
    # A pretrained model (the scenes' default): the same encoder, a linear probe, relations.
    pretrained = PerceptualProgressModel(args.scene, PerceptualConfig(
        cameras=cameras, image_size=64, pretrain=1, heights=False), "cpu")
    seconds = timed(lambda: pretrained.progress(batch, batch=args.batch), 5)
    results["perceptual_pretrained_64px_frames_per_s"] = round(args.batch / seconds, 1)
    states = np.stack([env.state_vector()] * 4096)
    state_model = ProgressRewardModel(env.state_dim, env.features, args.scene, ProgressConfig(),
                                      "cpu")
    seconds = timed(lambda: state_model.progress(states), 20)
    results["state_progress_states_per_s"] = round(len(states) / seconds)
    # Kernel progress (Reach's default): its cost grows with the fitted states it keeps; 510 is
    # Reach's 5-demo recording, 8,192 the most it keeps.
    fitted = torch.as_tensor(rng.normal(size=(8192, env.state_dim)), dtype=torch.float32)
    for kept in (510, 8192):
        kernel = ProgressRewardModel(env.state_dim, env.features, args.scene,
                                     ProgressConfig(kernel=0.15), "cpu")
        kernel.set_normalisation(fitted.numpy())
        kernel.net.remember(fitted[:kept], torch.rand(kept), torch.ones(kept))
        seconds = timed(lambda k=kernel: k.progress(states), 5)
        results[f"kernel_progress_{kept}_fitted_states_per_s"] = round(len(states) / seconds)
    # A preference ensemble, plain, told a mirror (every sign -1: the cost does not depend on
    # which), and told one that also swaps entries (as a legged robot's legs: every entry read
    # from another), scored as the reward wrapper scores it.
    swapped = tuple(np.roll(np.arange(env.state_dim), 1).tolist())
    for name, mirror, order in (("preference", (), ()),
                                ("preference_mirror", (-1.0,) * env.state_dim, ()),
                                ("preference_mirror_swapped", (-1.0,) * env.state_dim, swapped)):
        ensemble = PreferenceRewardModel(env.state_dim, env.features, args.scene,
                                         PreferenceConfig(mirror=mirror, mirror_order=order),
                                         "cpu")
        for rows, repeats in ((4096, 20), (8, 2000)):
            seconds = timed(lambda e=ensemble, r=rows: e.score(states[:r]), repeats)
            results[f"{name}_{rows}_states_per_s"] = round(rows / seconds)
    env.close()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
