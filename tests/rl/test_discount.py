"""PPO's schedules and limits: a horizon that grows from ``gamma`` to ``gamma_final``, a critic
fitted alone for the first ``value_warmup`` updates, and updates that end at ``target_kl``."""

from __future__ import annotations

import itertools

import pytest
import torch

from workbench.config import ConfigError
from workbench.rl.checkpoint import load_checkpoint
from workbench.rl.policy import GaussianPolicy
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


def test_a_value_warmup_leaves_the_policy_as_initialised_while_the_critic_learns():
    """For ``value_warmup`` updates only the critic moves; the update after it moves the actor
    too (its mean and its gSDE noise scale)."""
    config = PPOConfig(num_envs=2, rollout_steps=32, minibatches=2, epochs=2, total_steps=3 * 64,
                       sde=True, value_warmup=2, seed=5)
    policy = GaussianPolicy(3, 1, config.hidden, config.log_std_init, sde=True)
    def weights() -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in policy.state_dict().items()
                if k.startswith(("actor", "critic", "log_std"))}

    after = [weights()]  # as initialised, then after each update
    envs = make_vector_env("Pendulum-v1", config.num_envs)
    train_ppo(envs, config, policy=policy, callbacks=(lambda progress: after.append(weights()),))
    envs.close()
    moved = [{k for k in before if not torch.equal(before[k], now[k])}
             for before, now in itertools.pairwise(after)]
    actor = {k for k in after[0] if not k.startswith("critic")}
    critic = set(after[0]) - actor
    assert len(moved) == 3 and "log_std" in actor and critic
    assert moved[0] == moved[1] == critic  # the warm-up: the critic alone
    assert moved[2] == actor | critic  # then the policy learns too


def test_an_update_ends_its_epochs_once_the_policy_moves_past_target_kl(tmp_path):
    """Adam's step count tells how many minibatch steps each run took: every one without a
    target, fewer with one the first step already passes; the logged KL is the estimate."""

    def run(target_kl: float | None) -> tuple[int, list[float]]:
        config = PPOConfig(num_envs=2, rollout_steps=32, minibatches=4, epochs=5,
                           total_steps=2 * 64, lr=1e-2, target_kl=target_kl, seed=1)
        kls: list[float] = []
        envs = make_vector_env("Pendulum-v1", config.num_envs)
        path = tmp_path / f"{target_kl}.pt"
        train_ppo(envs, config, checkpoint=path,
                  callbacks=(lambda progress: kls.append(progress.losses["losses/approx_kl"]),))
        envs.close()
        optimiser = load_checkpoint(path)["optimiser"]
        return int(optimiser["state"][0]["step"]), kls

    every, kls = run(None)
    assert every == 2 * 5 * 4  # updates x epochs x minibatches
    assert len(kls) == 2 and all(kl >= 0.0 for kl in kls) and max(kls) > 1e-6
    stopped, _ = run(1e-9)  # the first minibatch (the rollout's own policy) always steps
    assert 2 <= stopped < every
    with pytest.raises(ConfigError, match="target_kl"):
        PPOConfig(target_kl=0.0)
