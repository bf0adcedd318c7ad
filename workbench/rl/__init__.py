"""Policy training on learned rewards."""

from workbench.rl.policy import GaussianPolicy, load_policy
from workbench.rl.ppo import PPOConfig, TrainProgress, train_ppo

__all__ = ["GaussianPolicy", "PPOConfig", "TrainProgress", "load_policy", "train_ppo"]
