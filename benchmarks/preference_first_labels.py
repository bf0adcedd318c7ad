"""How well a preference reward fitted on a random policy's first labels ranks Pendulum's states.

The first labels of an online run (benchmarks/preference_vs_imitation.py) come from the random
policy's episodes; with a dozen labels in all, whether the reward fitted on them pays for the
pole's height or for its stillness decides the run. This measures that in seconds, without
PPO: a random policy runs 8 envs for 4,096 steps, `OnlinePreference` asks ``--labels`` labels
of the oracle teacher (with the benchmark's settings, or ``--feedback`` overrides) and fits
its ensemble, and the fitted reward is compared with the true reward -(theta^2 + 0.1
theta_dot^2) over a 41 x 33 grid of angles and speeds: Spearman's rho, mean and worst over
seeds, and how often it ranks the pole upright and still above the pole held 24 degrees up
(the stall of the failed runs).

Run: python benchmarks/preference_first_labels.py [--labels 9] [--seeds 50]
        [--feedback labels_per_fit=0 preference.hidden=64,64 preference.epochs=100]
"""

from __future__ import annotations

import argparse
import dataclasses

import gymnasium as gym
import numpy as np
import torch
from preference_vs_imitation import FEEDBACK
from scipy.stats import spearmanr

from workbench import config as cfg
from workbench.feedback.teachers import Teacher
from workbench.rl.online_reward import OnlinePreference

STEPS_PER_ENV, ENVS = 512, 8
HELD = 0.41  # radians from hanging: the highest angle a torque of 2 holds the pole still at


def grid() -> tuple[np.ndarray, np.ndarray]:
    theta, speed = np.meshgrid(np.linspace(-np.pi, np.pi, 41), np.linspace(-8, 8, 33))
    states = np.stack([np.cos(theta.ravel()), np.sin(theta.ravel()), speed.ravel()], 1)
    return states.astype(np.float32), -(theta.ravel() ** 2 + 0.1 * speed.ravel() ** 2)


def fitted_on_first_labels(labels: int, seed: int, feedback: tuple[str, ...]):
    config = cfg.override(dataclasses.replace(FEEDBACK, total_labels=labels, seed=seed,
                                              first_fraction=1.0), feedback)
    online = OnlinePreference("Pendulum-v1", {"observation": 3}, config, teacher=Teacher())
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("Pendulum-v1")] * ENVS)
    envs.reset(seed=seed)
    envs.action_space.seed(seed)
    for _ in range(STEPS_PER_ENV):
        obs, reward, terminated, truncated, _ = envs.step(envs.action_space.sample())
        online.observe(obs, reward, terminated | truncated)
    envs.close()
    online.feedback_round(STEPS_PER_ENV * ENVS, 100_000)
    return online.model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=9)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--feedback", nargs="*", default=[], metavar="KEY=VALUE",
                        help="OnlineFeedbackConfig settings instead of the benchmark's")
    args = parser.parse_args()
    torch.set_num_threads(1)
    states, truth = grid()
    upright_and_held = np.array([[1, 0, 0], [-np.cos(HELD), np.sin(HELD), 0]], np.float32)
    rhos, upright_first = [], []
    for seed in range(args.seeds):
        model = fitted_on_first_labels(args.labels, seed, tuple(args.feedback))
        rhos.append(spearmanr(model.reward(states), truth).statistic)
        upright, held = model.reward(upright_and_held)
        upright_first.append(upright > held)
    print(f"{' '.join(args.feedback) or 'benchmark settings'}: {args.labels} labels, "
          f"{args.seeds} seeds: Spearman mean {np.mean(rhos):.2f}, worst {np.min(rhos):.2f}; "
          f"upright above held {np.mean(upright_first):.0%}")


if __name__ == "__main__":
    main()
