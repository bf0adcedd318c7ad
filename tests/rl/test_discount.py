"""PPO's discount schedule: a horizon that grows from ``gamma`` to ``gamma_final``."""

from __future__ import annotations

import pytest

from workbench.config import ConfigError
from workbench.rl.ppo import PPOConfig, discount, make_vector_env, train_ppo


def test_the_discount_rises_linearly_from_gamma_to_gamma_final():
    rising = PPOConfig(gamma=0.9, gamma_final=0.98)
    assert [round(discount(rising, p), 6) for p in (0.0, 0.5, 1.0)] == [0.9, 0.94, 0.98]
    assert discount(PPOConfig(gamma=0.9), 0.7) == 0.9  # no final discount: constant
    with pytest.raises(ConfigError, match=r"gamma_final must be in \(0.0, 1.0\]"):
        PPOConfig(gamma_final=1.5)


def test_training_discounts_each_update_by_the_schedule():
    """Same seed with and without a final discount: the first update (at ``gamma``) is the
    same, the second (halfway up the schedule) is not."""

    def losses(config: PPOConfig) -> list[dict[str, float]]:
        seen: list[dict[str, float]] = []
        envs = make_vector_env("Pendulum-v1", config.num_envs)
        train_ppo(envs, config, callbacks=(lambda progress: seen.append(progress.losses),))
        envs.close()
        return seen

    base = PPOConfig(num_envs=2, rollout_steps=32, minibatches=2, epochs=2, gamma=0.5,
                     total_steps=2 * 2 * 32, normalize_reward=False, seed=3)
    constant = losses(base)
    rising = losses(PPOConfig(**{**base.__dict__, "gamma_final": 0.99}))
    assert len(constant) == len(rising) == 2
    assert constant[0] == rising[0]
    assert constant[1]["losses/value"] != rising[1]["losses/value"]
