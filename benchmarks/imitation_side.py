"""The `imitation` half of benchmarks/preference_vs_imitation.py; runs in imitation's own venv.

`imitation` 1.0 pins gymnasium 0.29 and stable-baselines3 2.2, older than the workbench's, so
this file imports nothing from the workbench and is started by the main script with that venv's
Python. Settings are imitation's own Pendulum example from its documentation (PPO with a
32x32 policy, fragments of 100 steps, hyperbolic query schedule), with an oracle teacher
(temperature 0: the fragment with the higher true return, 0.5 on ties).

With ``--mirror 1,-1,-1`` (the observation's signs, from the main script) the reward net is told
Pendulum's mirror symmetry, as the workbench's is by ``preference.mirror``: it scores each
transition as the mean of its MLP at the transition and at its mirror image (the angle's sine,
the speed and the torque negated).

Prints one JSON line per (labels, seed): the true return of the trained agent.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

ACTION_MIRROR = (-1.0,)  # Pendulum's torque in the mirror image


def mirrored_net(state_mirror: tuple[float, ...], observation_space, action_space, **kwargs):
    """A BasicRewardNet whose reward is the same for a transition and its mirror image. Its
    running input normalisation is updated with both, so its shift is symmetric; the
    workbench's is fitted on the labelled states alone (a small difference, if any in
    imitation's favour)."""
    from imitation.rewards.reward_nets import BasicRewardNet

    class MirroredRewardNet(BasicRewardNet):
        def forward(self, state, action, next_state, done):
            state_sign, action_sign = (torch.tensor(m, dtype=state.dtype, device=state.device)
                                       for m in (state_mirror, ACTION_MIRROR))
            return 0.5 * (super().forward(state, action, next_state, done)
                          + super().forward(state * state_sign, action * action_sign,
                                            next_state * state_sign, done))

    return MirroredRewardNet(observation_space, action_space, **kwargs)


def run(labels: int, seed: int, steps: int, eval_episodes: int,
        mirror: tuple[float, ...] = ()) -> dict:
    from imitation.algorithms import preference_comparisons as pc
    from imitation.policies.base import FeedForward32Policy, NormalizeFeaturesExtractor
    from imitation.rewards.reward_nets import BasicRewardNet
    from imitation.util.networks import RunningNorm
    from imitation.util.util import make_vec_env
    from stable_baselines3 import PPO

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    venv = make_vec_env("Pendulum-v1", rng=rng)
    spaces = venv.observation_space, venv.action_space
    reward_net = (mirrored_net(mirror, *spaces, normalize_input_layer=RunningNorm) if mirror
                  else BasicRewardNet(*spaces, normalize_input_layer=RunningNorm))
    fragmenter = pc.RandomFragmenter(warning_threshold=0, rng=rng)
    gatherer = pc.SyntheticGatherer(temperature=0, rng=rng)
    trainer = pc.BasicRewardTrainer(preference_model=pc.PreferenceModel(reward_net),
                                    loss=pc.CrossEntropyRewardLoss(), epochs=3, rng=rng)
    agent = PPO(policy=FeedForward32Policy,
                policy_kwargs=dict(features_extractor_class=NormalizeFeaturesExtractor,
                                   features_extractor_kwargs=dict(normalize_class=RunningNorm)),
                env=venv, seed=seed, n_steps=2048 // venv.num_envs, batch_size=64,
                ent_coef=0.01, learning_rate=2e-3, clip_range=0.1, gae_lambda=0.95,
                gamma=0.97, n_epochs=10, device="cpu")
    generator = pc.AgentTrainer(algorithm=agent, reward_fn=reward_net, venv=venv,
                                exploration_frac=0.05, rng=rng)
    # The first round asks initial_comparison_frac of the labels from 2 * pairs * 100 fresh
    # steps over 8 envs: below ~100 labels no 200-step episode finishes and imitation stops
    # ("No trajectories are long enough"). Oversample until each env finishes two episodes.
    oversampling = max(1.0, 2 * venv.num_envs * 200 / (2 * first_pairs(labels) * 100))
    learner = pc.PreferenceComparisons(
        generator, reward_net, num_iterations=iterations(labels), fragmenter=fragmenter,
        preference_gatherer=gatherer, reward_trainer=trainer, fragment_length=100,
        transition_oversampling=oversampling,
        initial_comparison_frac=(first_pairs(labels) + 0.5) / labels,  # int() of it: the pairs
        allow_variable_horizon=False, initial_epoch_multiplier=4, query_schedule="hyperbolic")
    start = time.perf_counter()
    learner.train(total_timesteps=steps, total_comparisons=labels)
    seconds = time.perf_counter() - start
    return {"framework": "imitation", "labels": labels, "seed": seed,
            "true_return": evaluate(agent, eval_episodes), "seconds": round(seconds, 1),
            "iterations": iterations(labels), **({"mirror": True} if mirror else {})}


def first_pairs(labels: int) -> int:
    """The documented 10% of the labels in the first round, and at least one: below 10 labels
    imitation would ask none there and fail."""
    return max(1, int(0.1 * labels))


def iterations(labels: int, most: int = 60) -> int:
    """The documented 60 iterations, or fewer where the hyperbolic schedule would give an
    iteration no label (imitation then fails: it cannot build fragments for 0 pairs)."""
    from imitation.algorithms.preference_comparisons import QUERY_SCHEDULES
    from imitation.util import util

    schedule = np.vectorize(QUERY_SCHEDULES["hyperbolic"])
    for count in range(most, 1, -1):
        shares = schedule(np.linspace(0, 1, count))
        if util.oric(shares / shares.sum() * (labels - first_pairs(labels))).min() > 0:
            return count
    return 1


def evaluate(agent, episodes: int) -> float:
    import gymnasium as gym

    env = gym.make("Pendulum-v1")
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=10_000 + i)
        done, total = False, 0.0
        while not done:
            action = agent.predict(obs, deterministic=True)[0]
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return round(float(np.mean(returns)), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, nargs="+", default=[25, 50, 100, 200])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--mirror", type=lambda text: tuple(map(float, text.split(","))),
                        default=(), help="the observation's signs in Pendulum's mirror image "
                        "(1,-1,-1): the reward net keeps that symmetry")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for seed in args.seeds:
        for labels in args.labels:
            print(json.dumps(run(labels, seed, args.steps, args.eval_episodes,
                                 args.mirror)), flush=True)


if __name__ == "__main__":
    main()
