"""Policy-level B-Pref: what each irrational teacher costs in the trained policy's true return.

On Pendulum-v1 (swing up and balance) or HalfCheetah-v5 (locomotion), PPO trains on a
preference reward learned online from ``--labels`` answers of one teacher
(`workbench.rl.online_reward`, the settings of benchmarks/preference_vs_imitation.py), for each
B-Pref teacher of `workbench.feedback.teachers` and ``--seeds`` seeds; the policy's true return
is measured over ``--eval-episodes`` deterministic episodes. The teachers' thresholds (skip,
equal) are fractions of a typical segment return, so on Pendulum they see its per-step reward
rescaled to [0, 1], (r + 16.27) / 16.27: the same order of segments, but "both segments are
poor" means something; the true return is Pendulum's own. HalfCheetah's reward has no fixed
best, so there the thresholds are fractions of the mean segment return of each round's queries
(as B-Pref's PEBBLE scales them by the policy's recent return), and PPO has the throughput
settings benchmarks/ppo_vs_sb3.py used until 2026-12-02 (``CHEETAH``).

Run: python benchmarks/bpref_online.py [--labels 100] [--seeds 0 1 2]
     python benchmarks/bpref_online.py --env HalfCheetah-v5 --labels 200 --steps 200000
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import gymnasium as gym
import numpy as np
import torch
from ppo_vs_sb3 import evaluate as evaluate_env
from ppo_vs_sb3 import mean_action
from preference_vs_imitation import PPO

from workbench.feedback.teachers import TEACHERS
from workbench.rl.online_reward import OnlineFeedbackConfig, OnlinePreference
from workbench.rl.ppo import PPOConfig, make_vector_env, train_ppo
from workbench.rl.reward_wrapper import LearnedRewardWrapper

# HalfCheetah's PPO settings as this benchmark's table was measured with (ppo_vs_sb3.py's
# before it took the zoo's): 8 envs of 256 steps, 10 epochs of 8 minibatches, tanh 64x64.
CHEETAH = PPOConfig(num_envs=8, rollout_steps=256, epochs=10, minibatches=8, lr=3e-4,
                    gamma=0.98, gae_lambda=0.92, hidden=(64, 64), log_std_init=-1.0)
WORST_STEP = 16.2736044  # Pendulum's largest per-step cost: pi^2 + 0.1 * 8^2 + 0.001 * 2^2


def pendulum_envs(count: int) -> gym.vector.VectorEnv:
    def make():
        return gym.wrappers.TransformReward(gym.make("Pendulum-v1"),
                                            lambda r: (r + WORST_STEP) / WORST_STEP)

    return gym.vector.SyncVectorEnv([make] * count,
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def run(env_id: str, teacher: str, labels: int, seed: int, steps: int, episodes: int,
        skip: float | None = None) -> dict:
    pendulum = env_id == "Pendulum-v1"
    settings = PPO if pendulum else CHEETAH
    config = PPOConfig(**{**settings.__dict__, "total_steps": steps, "seed": seed})
    envs = pendulum_envs(config.num_envs) if pendulum else make_vector_env(env_id, config.num_envs)
    online = OnlinePreference(
        env_id, {"observation": int(np.prod(envs.single_observation_space.shape))},
        # Pendulum: thresholds as fractions of the best possible segment return (1 per step),
        # as B-Pref; elsewhere of the mean segment return of the round's queries.
        OnlineFeedbackConfig(total_labels=labels, segment_length=50, seed=seed,
                             teacher_scale=50.0 if pendulum else 0.0),
        teacher=replace(TEACHERS[teacher], skip=skip) if skip is not None else TEACHERS[teacher],
    )
    envs = LearnedRewardWrapper(envs, None, on_step=online.observe)
    low, high = envs.single_action_space.low, envs.single_action_space.high
    start = time.perf_counter()
    policy = train_ppo(envs, config, callbacks=(online.callback(envs),))
    seconds = time.perf_counter() - start
    envs.close()
    answers = [q.answer for q in online.queries]
    true_return = evaluate_env(lambda o: np.clip(mean_action(policy, o), low, high), env_id,
                               episodes)
    return {"env": env_id, "teacher": teacher, "labels": labels, "seed": seed,
            "true_return": round(true_return, 1),
            "skipped": answers.count("skip"), "equal": answers.count("equal"),
            "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Pendulum-v1", choices=("Pendulum-v1", "HalfCheetah-v5"))
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--teachers", nargs="+", default=list(TEACHERS))
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--skip", type=float, help="the skip teacher's threshold (default: "
                        "its B-Pref default, 0.1 of a typical segment return)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = []
    for seed in args.seeds:
        for teacher in args.teachers:
            skip = args.skip if teacher == "skip" else None
            results.append(run(args.env, teacher, args.labels, seed, args.steps,
                               args.eval_episodes, skip))
            print(json.dumps(results[-1]), flush=True)
    means = {t: float(np.mean([r["true_return"] for r in results if r["teacher"] == t]))
             for t in args.teachers}
    oracle = means.get("oracle")
    print(json.dumps({"mean_true_return": means,
                      "drop_vs_oracle": {t: round(oracle - m, 1) for t, m in means.items()}
                      if oracle is not None else None}))


if __name__ == "__main__":
    main()
