"""Curriculum against full difficulty from the start, same scene, reward and budget.

Trains PPO on the scene's reference reward twice in one process: (1) at difficulty 1 from the
start, (2) with the competence-based curriculum from difficulty 0; then evaluates both policies
at difficulty 1 (true success over 40 seeded episodes) and prints the curriculum's stages.

Run: python benchmarks/curriculum.py [--scene Reach] [--steps 150000] [--reward sparse]
"""

from __future__ import annotations

import argparse
import json

import torch

import workbench  # noqa: F401
from workbench.envs import make_env
from workbench.rl.curriculum import Curriculum, CurriculumConfig
from workbench.rl.ppo import PPOConfig, evaluate_policy, make_vector_env, train_ppo
from workbench.rl.reward_wrapper import SuccessRewardWrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="Reach")
    parser.add_argument("--steps", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reward", choices=("reference", "sparse"), default="reference",
                        help="the scene's dense reference reward, or 1 on success else 0")
    args = parser.parse_args()
    wrap = SuccessRewardWrapper if args.reward == "sparse" else (lambda envs: envs)
    torch.set_num_threads(1)
    config = PPOConfig(total_steps=args.steps, seed=args.seed)
    env_id = f"workbench/{args.scene}-v0"
    hard = make_env(args.scene, difficulty=1.0)

    envs = make_vector_env(env_id, config.num_envs, {"difficulty": 1.0})
    fixed = train_ppo(wrap(envs), config)
    envs = make_vector_env(env_id, config.num_envs)
    curriculum = Curriculum(envs, CurriculumConfig())
    staged = train_ppo(wrap(envs), config, callbacks=(curriculum,))
    stages = [h for i, h in enumerate(curriculum.history)
              if i == 0 or h["difficulty"] != curriculum.history[i - 1]["difficulty"]]
    print(json.dumps({
        "scene": args.scene, "reward": args.reward, "steps": args.steps, "seed": args.seed,
        "full_difficulty_from_start": evaluate_policy(fixed, hard, 40)["success_rate"],
        "curriculum": evaluate_policy(staged, hard, 40)["success_rate"],
        "final_difficulty": curriculum.difficulty,
        "stages": stages,
    }))


if __name__ == "__main__":
    main()
