"""The policy's fused rollout step and hand-written Gaussian terms match torch.distributions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.rl.policy import GaussianPolicy, gaussian_entropy, gaussian_log_prob
from workbench.rl.ppo import PPOConfig, make_vector_env, train_ppo


@pytest.mark.parametrize("sde", [False, True])
def test_rollout_step_is_the_distribution_and_the_value_in_one_pass(sde):
    torch.manual_seed(0)
    policy = GaussianPolicy(5, 2, (16, 16), log_std_init=-0.3, sde=sde)
    policy.set_obs_stats(torch.rand(5).numpy(), (torch.rand(5) + 0.5).numpy())
    obs = torch.randn(7, 5)
    matrices = policy.sample_exploration(7) if sde else None
    action, logp, value = policy.rollout_step(obs, matrices)
    reference = policy.distribution(obs)
    torch.testing.assert_close(logp, reference.log_prob(action).sum(-1))
    torch.testing.assert_close(value, policy.value(obs))
    torch.testing.assert_close(gaussian_entropy(reference.stddev), reference.entropy().sum(-1))
    if sde:  # the action is the held noise phi(s) W, not a fresh draw
        torch.testing.assert_close(action, policy.explore(obs, matrices))
    else:
        assert not torch.allclose(action, reference.mean)
    mean, std = policy.mean_std(obs)
    torch.testing.assert_close(gaussian_log_prob(mean, mean, std), reference.log_prob(mean).sum(-1))


def test_observation_normalisation_can_be_left_off():
    torch.set_num_threads(1)
    base = PPOConfig(num_envs=4, rollout_steps=64, total_steps=512, seed=0)
    fixed = train_ppo(make_vector_env("Pendulum-v1", 4),
                      PPOConfig(**{**base.__dict__, "normalize_obs": False}))
    assert torch.equal(fixed.obs_mean, torch.zeros(3))
    assert torch.equal(fixed.obs_var, torch.ones(3))
    learned = train_ppo(make_vector_env("Pendulum-v1", 4), base)
    assert not torch.equal(learned.obs_var, torch.ones(3))


@pytest.mark.parametrize(("sde", "activation"), [(False, "tanh"), (True, "tanh"),
                                                  (False, "relu")])
def test_the_numpy_actor_of_a_snapshot_acts_as_the_policy(sde, activation):
    """What the app's viewport runs while a policy trains: the same deterministic action as the
    torch policy, from the arrays a training job streams."""
    from workbench.rl.policy import NumpyActor

    policy = GaussianPolicy(5, 2, (16, 8, 4), sde=sde, activation=activation)
    policy.set_obs_stats(np.arange(5.0), np.full(5, 2.0))
    with torch.no_grad():
        for p in policy.actor.parameters():
            p.normal_()
    obs = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32) * 4
    actor = NumpyActor(policy.actor_snapshot())
    np.testing.assert_allclose(actor.act(obs), policy.act(obs), atol=1e-5)
    assert np.abs(actor.act(obs)).max() <= 1.0 and len(actor.layers) == 4


def test_a_relu_policy_saves_and_loads_as_relu(tmp_path):
    from workbench.rl.policy import load_policy

    torch.manual_seed(0)
    policy = GaussianPolicy(5, 2, (16, 16), activation="relu")
    with torch.no_grad():
        for p in policy.actor.parameters():
            p.normal_()
    obs = np.random.default_rng(1).normal(size=(9, 5)).astype(np.float32)
    loaded, header = load_policy(policy.save(tmp_path / "p", {}))
    assert header["activation"] == "relu"
    assert isinstance(loaded.actor[1], torch.nn.ReLU)
    np.testing.assert_array_equal(loaded.act(obs), policy.act(obs))


def test_an_unknown_activation_is_refused_in_one_line():
    from workbench.config import ConfigError

    with pytest.raises(ConfigError, match="activation.*'tanh', 'relu'"):
        PPOConfig(activation="sigmoid")
    with pytest.raises(ValueError, match="activation must be one of tanh, relu"):
        GaussianPolicy(3, 1, activation="sigmoid")


def test_without_orthogonal_init_the_layers_keep_torchs_default_initialisation():
    torch.manual_seed(0)
    orthogonal = GaussianPolicy(5, 2, (16, 16), activation="relu")
    torch.manual_seed(0)
    default = GaussianPolicy(5, 2, (16, 16), activation="relu", orthogonal_init=False)
    first = orthogonal.actor[0].weight.detach()
    # Orthogonal columns (gain sqrt 2): W^T W = 2 I. torch's default: uniform within 1/sqrt(fan_in),
    # with non-zero biases.
    torch.testing.assert_close(first.T @ first, 2 * torch.eye(5), atol=1e-5, rtol=0)
    layer, orthogonal_layer = default.actor[0], orthogonal.actor[0]
    assert float(layer.weight.detach().abs().max()) <= 1 / np.sqrt(5)
    assert float(layer.bias.detach().abs().max()) > 0
    assert float(orthogonal_layer.bias.detach().abs().max()) == 0


def test_a_zero_head_gain_starts_every_seed_at_action_zero_and_training_moves_it():
    """``policy_head_gain=0``: the first policy acts 0 on every observation, whatever the seed
    (with SB3's 0.01 each seed starts a little off 0), and the head still learns."""
    obs = torch.randn(64, 3) * 3
    for seed in (0, 1):
        torch.manual_seed(seed)
        zero = GaussianPolicy(3, 1, sde=True, head_gain=0.0)
        assert torch.equal(zero.mean_std(obs)[0], torch.zeros(64, 1))
        torch.manual_seed(seed)
        assert float(GaussianPolicy(3, 1, sde=True).mean_std(obs)[0].abs().max()) > 0
    config = PPOConfig(num_envs=2, rollout_steps=32, minibatches=2, epochs=2, total_steps=64,
                       sde=True, policy_head_gain=0.0, seed=2)
    trained = train_ppo(make_vector_env("Pendulum-v1", 2), config)
    assert float(trained.mean_std(obs)[0].abs().max()) > 0
