"""What a film costs: the workbench's ``Film`` (render one camera, encode H.264 through PyAV frame
by frame) against gymnasium's ``RecordVideo`` wrapper (render through ``env.render()``, keep the
episode's frames, encode through moviepy's ffmpeg process at its end), on the same scene,
episodes, camera (the scene's first, which ``env.render()`` shows) and size, each as it films a
run of episodes: the workbench into one file (as ``workbench run BUNDLE --video``), gymnasium
into one file per episode. The last column films as a run does, through the app's view.

Reported per scene: frames per second of a filmed episode (stepping, rendering and encoding;
the stepping alone is given too; under the table, a frame's milliseconds of stepping and
rendering against those of encoding with two x264 presets), the file size per second of film,
and the frames each holds in memory before encoding (RecordVideo an episode's, until it ends;
Film one). Then what ``--film-every`` adds to a training run: the seconds one film takes
against the seconds of the updates between two films.

Run: pip install moviepy   (gymnasium's RecordVideo needs it)
     python benchmarks/film_cost.py [--scenes Push CheetahRun] [--episodes 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import workbench  # noqa: F401 - registers the scenes
from workbench.envs.env import make_env
from workbench.envs.film import SIZE, Film, shoot_episode


def zero_policy(env):
    return lambda obs: np.zeros(env.action_space.shape, np.float32)


def stepping_only(scene: str, episodes: int) -> float:
    env = make_env(scene)
    act, frames, start = zero_policy(env), 0, time.perf_counter()
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(act(obs))
            frames += 1
            done = terminated or truncated
    env.close()
    return frames / (time.perf_counter() - start)


def workbench_film(scene: str, episodes: int, folder: Path) -> dict[str, float]:
    """As ``workbench run BUNDLE --video`` films: one Film (one renderer, one file) for every
    episode of the run."""
    env = make_env(scene)
    act, path = zero_policy(env), folder / "workbench.mp4"
    start = time.perf_counter()
    with Film(env, path, camera=env.cameras[0]) as film:  # the camera env.render() films
        for episode in range(episodes):
            shoot_episode(env, act, film, episode)
    seconds = time.perf_counter() - start
    rate = 1.0 / env.control_dt
    env.close()
    return {"fps": film.frames / seconds,
            "kb_per_s": path.stat().st_size / 1024 / (film.frames / rate),
            "held_mb": SIZE[0] * SIZE[1] * 3 / 2**20}  # one frame at a time


def gymnasium_record_video(scene: str, episodes: int, folder: Path) -> dict[str, float]:
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(make_env(scene, render_mode="rgb_array", render_size=SIZE),
                      str(folder / "gymnasium"), episode_trigger=lambda _: True,
                      disable_logger=True)
    act, frames = zero_policy(env), 0
    start = time.perf_counter()
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        frames += 1
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(act(obs))
            frames += 1
            done = terminated or truncated
    env.close()  # writes the last episode's film
    seconds = time.perf_counter() - start
    rate = 1.0 / env.unwrapped.control_dt
    size = sum(p.stat().st_size for p in (folder / "gymnasium").glob("*.mp4"))
    longest = (env.unwrapped.task.episode_steps + 1) * SIZE[0] * SIZE[1] * 3
    return {"fps": frames / seconds, "kb_per_s": size / 1024 / (frames / rate),
            "held_mb": longest / 2**20}  # an episode's frames, until it ends


def frame_costs(scene: str, frames: int = 100) -> str:
    """Where a frame's time goes: milliseconds to step and render one 640x480 frame of the
    scene's first camera, and to encode it with x264's "medium" (its default, and moviepy's)
    and "veryfast" (Film's), with the file each makes."""
    from workbench.data.formats.video import VideoWriter
    from workbench.sim.render import CameraRenderer

    env = make_env(scene)
    obs, _ = env.reset(seed=0)
    act, shots = zero_policy(env), []
    with CameraRenderer(env.physics.model, *SIZE) as renderer:
        start = time.perf_counter()
        for _ in range(frames):
            obs, *_ = env.step(act(obs))
            shots.append(renderer.rgb(env.physics.data, env.cameras[0]))
        rendering = (time.perf_counter() - start) / frames * 1000
    env.close()
    encoding = []
    for preset in ("medium", "veryfast"):
        with tempfile.TemporaryDirectory() as folder:
            path, start = Path(folder) / "film.mp4", time.perf_counter()
            with VideoWriter(path, 25, preset=preset) as video:
                for shot in shots:
                    video.add(shot)
            encoding.append(f"{(time.perf_counter() - start) / frames * 1000:.1f} ms "
                            f"({preset}, {path.stat().st_size / 1024:.0f} KB)")
    return (f"{scene}: step and render {rendering:.1f} ms a frame; encode "
            + " against ".join(encoding) + f" for {frames} frames")


def film_every_share(scene: str, every: int) -> tuple[float, float]:
    """(seconds of one film of the scene's episode, seconds of ``every`` PPO updates of the
    workbench's default run there), on the reference reward."""
    from workbench.rl.ppo import PPOConfig, make_vector_env, train_ppo

    config = PPOConfig(total_steps=every * 8 * 128, seed=0)
    envs = make_vector_env(f"workbench/{scene}-v0", config.num_envs)
    start = time.perf_counter()
    policy = train_ppo(envs, config)
    training = time.perf_counter() - start
    envs.close()
    from workbench.envs.film import film_episode

    env = make_env(scene)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        film_episode(env, policy.act, Path(folder) / "film.mp4", seed=30_000)
        filming = time.perf_counter() - start
    env.close()
    return filming, training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=["Push", "CheetahRun"])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--every", type=int, default=10, help="updates between films")
    args = parser.parse_args()
    print(f"| scene | stepping alone (steps/s) | workbench Film (frames/s) | gymnasium "
          f"RecordVideo (frames/s) | ratio | KB per second of film (workbench / gymnasium) "
          f"| frames held, MB (workbench / gymnasium) | one film / {args.every} updates (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for scene in args.scenes:
        with tempfile.TemporaryDirectory() as folder:
            ours = workbench_film(scene, args.episodes, Path(folder))
            theirs = gymnasium_record_video(scene, args.episodes, Path(folder))
        filming, training = film_every_share(scene, args.every)
        print(f"| {scene} | {stepping_only(scene, args.episodes):,.0f} | {ours['fps']:.1f} | "
              f"{theirs['fps']:.1f} | {ours['fps'] / theirs['fps']:.2f} | "
              f"{ours['kb_per_s']:.0f} / {theirs['kb_per_s']:.0f} | "
              f"{ours['held_mb']:.1f} / {theirs['held_mb']:.0f} | "
              f"{filming:.1f} / {training:.1f} |", flush=True)
    print()
    for scene in args.scenes:
        print(frame_costs(scene), flush=True)


if __name__ == "__main__":
    main()
