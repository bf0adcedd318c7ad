"""A training run's films of its policy (``film_every``): one episode every so many updates and
the final policy's, read back with OpenCV's decoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.films import changed, film_frames
from workbench.data import Workspace
from workbench.envs.env import make_env
from workbench.rl.films import FILM_SEED
from workbench.rl.policy import load_policy
from workbench.rl.ppo import PPOConfig
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.rl.sac import SACConfig
from workbench.sim.render import CameraRenderer, viewer_camera


@pytest.mark.parametrize("algorithm", ["ppo", "sac"])
def test_a_run_films_its_policy_every_few_updates_and_at_the_end(workspace: Workspace,
                                                                 algorithm: str):
    learner = ({"ppo": PPOConfig(total_steps=4 * 256, num_envs=2, rollout_steps=128)}
               if algorithm == "ppo" else
               {"sac": SACConfig(total_steps=400, log_every=100, learning_starts=100,
                                 batch_size=32, her=False)})
    config = RunConfig(scene="Reach", reward="reference", eval_episodes=1, algorithm=algorithm,
                       film_every=2, hacking_guard=False, **learner)
    result = train_run(workspace, config)
    folder = Path(result["path"]) / "films"
    assert workspace.absolute(result["films"]) == str(folder.resolve())
    every = 2 * 256 if algorithm == "ppo" else 2 * 100  # updates (log intervals) x their steps
    assert sorted(p.name for p in folder.iterdir()) == [
        "final.mp4", f"step-{every:09d}.mp4", f"step-{2 * every:09d}.mp4"]  # no .part left

    env = make_env("Reach")
    steps = env.task.episode_steps
    env.reset(seed=FILM_SEED)
    with CameraRenderer(env.physics.model, 640, 480) as renderer:
        view = viewer_camera(env.physics.model, env.viewer)
        start = renderer.rgb(env.physics.data, view).astype(np.float32)
    films = {p.name: film_frames(p)[0] for p in folder.iterdir()}
    for frames in films.values():  # one episode from the same start, at the film's size
        assert len(frames) == steps + 1 and frames[0].shape == (480, 640, 3)
        assert changed(frames[0], start) < 1e-3  # 1.4-1.7e-4
    # The final film is the saved policy's episode: acting again from the same start ends
    # where the film ends (within the codec's loss).
    policy, _ = load_policy(Path(result["path"]) / "policy")
    obs, _ = env.reset(seed=FILM_SEED)
    done = False
    while not done:
        obs, _, terminated, truncated, _ = env.step(policy.act(obs))
        done = terminated or truncated
    with CameraRenderer(env.physics.model, 640, 480) as renderer:
        view = viewer_camera(env.physics.model, env.viewer)
        end = renderer.rgb(env.physics.data, view).astype(np.float32)
    env.close()
    # (measured: 1.6-2e-4 of the pixels differ from that state, 1.3-3e-2 from the start)
    assert changed(films["final.mp4"][-1], end) < 1e-3 < 5e-3 < changed(
        films["final.mp4"][-1], start)


def test_no_film_by_default(workspace: Workspace):
    config = RunConfig(scene="Reach", reward="reference", eval_episodes=1,
                       ppo=PPOConfig(total_steps=256, num_envs=2, rollout_steps=128))
    result = train_run(workspace, config)
    assert "films" not in result and not (Path(result["path"]) / "films").exists()
