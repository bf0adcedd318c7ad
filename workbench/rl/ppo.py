"""Proximal Policy Optimisation for continuous actions, readable in one scroll.

Follows cleanrl's ``ppo_continuous_action``: vectorised envs, GAE, clipped surrogate, advantage
normalisation, observation normalisation (statistics frozen within an update), return-based
reward scaling, bootstrapping of time-limit truncations, linear learning-rate annealing; and,
beyond cleanrl, gSDE exploration and a discount that may rise over the run (``gamma_final``).
Callbacks receive a typed :class:`TrainProgress` and may return False to stop.
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from workbench import config as cfg
from workbench.config import DEVICE, validated
from workbench.envs.env import box
from workbench.rewards.device import pick_device
from workbench.rl.checkpoint import (
    CheckpointError,
    env_state,
    load_checkpoint,
    restore_env_state,
    save_checkpoint,
)
from workbench.rl.normalize import RunningMeanStd
from workbench.rl.policy import HEAD_GAIN, GaussianPolicy, gaussian_entropy, gaussian_log_prob


@dataclass(frozen=True)
@validated
class PPOConfig:
    total_steps: int = field(default=200_000, metadata={
        "help": "environment steps in all, rounded down to whole updates (num_envs x "
                "rollout_steps; at least one)", "min": 1, "max": 10**12})
    num_envs: int = field(default=8, metadata={
        "help": "parallel environments", "min": 1, "max": 4096})
    rollout_steps: int = field(default=128, metadata={
        "help": "steps per env per update", "min": 1, "max": 1_000_000})
    epochs: int = field(default=10, metadata={
        "help": "optimisation passes per update", "min": 1, "max": 1000})
    minibatches: int = field(default=4, metadata={"help": "minibatches per pass", "min": 1})
    lr: float = field(default=3e-4, metadata={
        "help": "Adam learning rate (annealed)", "gt": 0.0, "max": 1.0})
    gamma: float = field(default=0.99, metadata={"help": "discount", "gt": 0.0, "max": 1.0})
    gamma_final: float | None = field(default=None, metadata={
        "help": "discount at the last update, reached linearly from gamma (a horizon that "
                "grows as the policy improves; potential shaping keeps gamma); none: gamma "
                "throughout", "gt": 0.0, "max": 1.0})
    gae_lambda: float = field(default=0.95, metadata={"help": "GAE lambda", "min": 0.0, "max": 1.0})
    clip: float = field(default=0.2, metadata={"help": "surrogate clip range", "gt": 0.0})
    target_kl: float | None = field(default=None, metadata={
        "help": "end an update's epochs before a minibatch step once the policy has moved more "
                "than 1.5 times this (approximate KL from the rollout's policy, as SB3's "
                "target_kl); none: every epoch", "gt": 0.0})
    ent_coef: float = field(default=0.0, metadata={"help": "entropy bonus", "min": 0.0})
    vf_coef: float = field(default=0.5, metadata={
        "help": "weight of half the value's squared error (cleanrl's loss; SB3 weighs the "
                "whole error: twice SB3's vf_coef is the same update)", "min": 0.0})
    clip_value: bool = field(default=True, metadata={
        "help": "clip each value update to the surrogate clip range (cleanrl; SB3 does not)"})
    max_grad_norm: float = field(default=0.5, metadata={"help": "gradient clip", "gt": 0.0})
    hidden: tuple[int, ...] = field(default=(64, 64), metadata={
        "help": "MLP sizes", "min": 1, "max": 65_536})
    activation: str = field(default="tanh", metadata={
        "help": "hidden layers' activation", "choices": ("tanh", "relu")})
    orthogonal_init: bool = field(default=True, metadata={
        "help": "orthogonal initial weights (cleanrl, SB3's default); off: torch's uniform "
                "default, as RL Zoo's HalfCheetah and other MuJoCo settings"})
    policy_head_gain: float = field(default=HEAD_GAIN, metadata={
        "help": "gain of the policy's orthogonal output layer: 0.01 (cleanrl, SB3) makes the "
                "first actions near 0; 0 makes them exactly 0, the same first policy on "
                "every seed", "min": 0.0, "max": 10.0})
    log_std_init: float = field(default=-0.5, metadata={
        "help": "initial log std of actions", "min": -20.0, "max": 2.0})
    sde: bool = field(default=False, metadata={
        "help": "state-dependent exploration (gSDE): noise smooth in time, learned per state"})
    sde_sample_freq: int = field(default=4, metadata={
        "help": "steps between new gSDE noise matrices (-1: once per rollout)", "min": -1})
    normalize_obs: bool = field(default=True, metadata={
        "help": "standardise observations by running statistics (off for inputs already in "
                "a unit range, whose variance shrinks as a policy converges)"})
    normalize_reward: bool = field(default=True, metadata={"help": "scale by return std"})
    anneal_lr: bool = field(default=True, metadata={"help": "linear decay of lr to 0"})
    value_warmup: int = field(default=0, metadata={
        "help": "first updates that fit only the value: the policy acts as initialised until "
                "the advantages it learns from rest on a fitted critic (OpenRLHF's "
                "freezing_actor_steps)", "min": 0})
    seed: int = field(default=0, metadata={
        "help": "seed of envs, torch and numpy", "min": 0, "max": 2**63 - 1})
    device: str = field(default="cpu", metadata={"help": "cpu, cuda or auto", **DEVICE})

    def check(self) -> None:
        if not self.orthogonal_init and self.policy_head_gain != HEAD_GAIN:
            raise cfg.ConfigError("policy_head_gain scales an orthogonal output layer; with "
                                  "orthogonal_init off the layers keep torch's default")


@dataclass
class TrainProgress:
    """What a callback sees after each update (stable metric names, cleanrl style)."""

    step: int
    total_steps: int
    update: int
    fps: float
    episodes: int
    learned_return: float  # mean over recent episodes of the reward being optimised
    success_rate: float  # ground truth, recent episodes
    reference_return: float  # the scene's reference (or the env's own) return
    losses: dict[str, float]
    policy: Any = None  # the learner's policy (a GaussianPolicy; SAC's agent)
    # Callbacks may annotate the update for the ones after them (the run log, the GUI), e.g.
    # the curriculum's "curriculum/difficulty".
    extras: dict[str, float] = field(default_factory=dict)


Callback = Callable[[TrainProgress], bool | None]


def discount(config: PPOConfig, progress: float) -> float:
    """The discount at ``progress`` (0 at the first update, 1 at the last): ``gamma``, or with
    ``gamma_final`` a linear rise from one to the other. A short horizon learns fast from a
    random policy, a long one refines a policy that already works (Pendulum-v1: the zoo's 0.9
    settles near -132; 0.98 finds -105 on some seeds but needs 2-3 times the steps to -200;
    rising from one to the other does both, benchmarks/ppo_vs_sb3.py)."""
    if config.gamma_final is None:
        return config.gamma
    return config.gamma + (config.gamma_final - config.gamma) * progress


def approx_kl(ratio: torch.Tensor, log_ratio: torch.Tensor) -> float:
    """Schulman's low-variance estimate of KL(rollout policy || this one) from the
    probability ratios of the rollout's actions (cleanrl's and SB3's ``approx_kl``)."""
    with torch.no_grad():
        return float(((ratio - 1.0) - log_ratio).mean())


def planned_steps(config: PPOConfig) -> int:
    """The environment steps a run of ``config`` takes: whole updates, at least one (a budget
    that is not a multiple of the batch ends a little short)."""
    batch = config.num_envs * config.rollout_steps
    return max(1, config.total_steps // batch) * batch


def make_wrapped(env_id: str, env_kwargs: dict[str, Any] | None,
                 wrap: Callable[[gym.Env], gym.Env] | None) -> gym.Env:
    """One env (a module-level function: it pickles, for worker processes and Ray actors)."""
    import workbench  # noqa: F401 - registers the scenes in a fresh process

    env = gym.make(env_id, **(env_kwargs or {}))
    return wrap(env) if wrap is not None else env


def make_vector_env(
    env_id: str, num_envs: int, env_kwargs: dict[str, Any] | None = None, asynchronous=False,
    wrap: Callable[[gym.Env], gym.Env] | None = None,
) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``env_id`` (each wrapped by ``wrap`` if given), SAME_STEP
    autoreset."""
    fns = [functools.partial(make_wrapped, env_id, env_kwargs, wrap) for _ in range(num_envs)]
    cls = gym.vector.AsyncVectorEnv if asynchronous else gym.vector.SyncVectorEnv
    return cls(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def train_ppo(
    envs: gym.vector.VectorEnv,
    config: PPOConfig = PPOConfig(),
    callbacks: tuple[Callback, ...] = (),
    policy: GaussianPolicy | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    after_update: Callback | None = None,
) -> GaussianPolicy:
    """Train on ``envs`` (SAME_STEP autoreset) and return the policy.

    With ``checkpoint``, the whole run state is saved there every ``checkpoint_every`` updates;
    ``resume=True`` continues from that file exactly where it stopped (see
    :mod:`workbench.rl.checkpoint`). ``after_update`` hears each update last, once its
    checkpoint is written: what it sends elsewhere (a sweep trial's run folder) can be resumed.

    Example:
        >>> envs = make_vector_env("workbench/Push-v0", 8)
        >>> envs = LearnedRewardWrapper(envs, reward_model)
        >>> policy = train_ppo(envs, PPOConfig(total_steps=50_000))
    """
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    obs_dim = int(np.prod(box(envs.single_observation_space).shape))
    actions = box(envs.single_action_space)
    act_dim, low, high = int(np.prod(actions.shape)), actions.low, actions.high
    policy = policy or GaussianPolicy(obs_dim, act_dim, config.hidden, config.log_std_init,
                                      sde=config.sde, activation=config.activation,
                                      orthogonal_init=config.orthogonal_init,
                                      head_gain=config.policy_head_gain)
    policy.to(device)
    # fused: one kernel for all parameters instead of a Python loop over them (on a CPU the
    # optimiser step of these small networks cost as much as their backward pass).
    parameters = list(policy.parameters())
    optimiser = torch.optim.Adam(parameters, lr=config.lr, eps=1e-5, fused=True)
    obs_rms = RunningMeanStd((obs_dim,))
    ret_rms = RunningMeanStd(())
    n, t_max = config.num_envs, config.rollout_steps
    batch = n * t_max
    minibatch = batch // config.minibatches
    updates = planned_steps(config) // batch

    buf_obs = np.zeros((t_max, n, obs_dim), np.float32)
    buf_act = np.zeros((t_max, n, act_dim), np.float32)
    buf_logp = np.zeros((t_max, n), np.float32)
    buf_val = np.zeros((t_max, n), np.float32)
    buf_rew = np.zeros((t_max, n), np.float32)
    buf_done = np.zeros((t_max, n), np.float32)

    obs, _ = envs.reset(seed=config.seed)
    if config.normalize_obs:
        obs_rms.update(obs)
    running_return = np.zeros(n)
    ep_learned = np.zeros(n)
    ep_reference = np.zeros(n)
    # (learned return, reference return, success) of ~4 updates of episodes: a steadier rate
    recent: deque[tuple[float, float, float]] = deque(maxlen=max(50, 4 * n))
    episodes = 0
    step = 0
    first_update = 1
    if resume:
        if checkpoint is None:
            raise ValueError("resume=True needs the checkpoint path to resume from")
        saved = load_checkpoint(checkpoint)
        # Fields added since the checkpoint was written count as their defaults (which keep
        # the behaviour from before them).
        saved_config = saved.get("config")
        written = {**cfg.to_dict(PPOConfig()),
                   **(saved_config if isinstance(saved_config, dict) else {"?": saved_config})}
        if written != cfg.to_dict(config):
            raise CheckpointError(f"{checkpoint} was written by a run with another config: "
                                  f"{saved.get('config')}; resume with that config")
        try:  # a file from anywhere: whatever does not fit is one clear error
            policy.load_state_dict(saved["policy"])
            optimiser.load_state_dict(saved["optimiser"])
            obs_rms.load(saved["obs_rms"])
            ret_rms.load(saved["ret_rms"])
            rng.bit_generator.state = saved["rng"]
            restore_env_state(envs, saved["envs"])
            obs, running_return = saved["obs"], saved["running_return"]
            ep_learned, ep_reference = saved["ep_learned"], saved["ep_reference"]
            episodes, step, done_updates = saved["episodes"], saved["step"], saved["update"]
            shapes = [np.shape(a) for a in (obs, running_return, ep_learned, ep_reference)]
            if shapes != [(n, obs_dim), (n,), (n,), (n,)] or not (
                    type(done_updates) is int and 1 <= done_updates <= updates
                    and step == done_updates * batch and type(episodes) is int and episodes >= 0
                    and all(len(r) == 3 for r in saved["recent"])):
                raise CheckpointError(f"{checkpoint} holds counters or buffers that do not fit "
                                      "this run's config; start a new run")
            recent.extend((float(a), float(b), float(c)) for a, b, c in saved["recent"])
            restore_callbacks(callbacks, saved["callbacks"], checkpoint)
            first_update = done_updates + 1
            # Last: rebuilding a refitted reward model above draws its initial weights.
            torch.set_rng_state(saved["torch_rng"])
        except CheckpointError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, OverflowError, RuntimeError,
                AttributeError) as exc:
            raise CheckpointError(f"{checkpoint} does not fit this run ({type(exc).__name__}: "
                                  f"{exc}); start a new run") from None
    start = time.perf_counter()

    def values(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return policy.value(torch.as_tensor(x, device=device)).cpu().numpy()

    sde_every = config.sde_sample_freq if config.sde_sample_freq > 0 else t_max
    matrices = None
    for update in range(first_update, updates + 1):
        if config.anneal_lr:
            optimiser.param_groups[0]["lr"] = config.lr * (1.0 - (update - 1) / updates)
        gamma = discount(config, (update - 1) / max(updates - 1, 1))
        policy.set_obs_stats(obs_rms.mean, obs_rms.var)
        for t in range(t_max):
            obs_t = torch.as_tensor(obs, dtype=torch.float32, device=device)
            if config.sde and t % sde_every == 0:
                matrices = policy.sample_exploration(n)
            action, logp, value = policy.rollout_step(obs_t, matrices)
            buf_logp[t], buf_val[t] = logp.cpu().numpy(), value.cpu().numpy()
            action_np = action.cpu().numpy()
            buf_obs[t], buf_act[t] = obs, action_np
            obs, reward, terminated, truncated, info = envs.step(np.clip(action_np, low, high))
            step += n
            reward = np.asarray(reward, np.float64)
            done = np.logical_or(terminated, truncated)
            ep_learned += reward
            ep_reference += np.asarray(info.get("env_reward", reward), np.float64)
            running_return = running_return * gamma + reward
            ret_rms.update(running_return)
            scale = np.sqrt(ret_rms.var + 1e-8) if config.normalize_reward else 1.0
            scaled = reward / scale
            # A time limit is not a terminal state: bootstrap from the final observation.
            cut = np.logical_and(truncated, np.logical_not(terminated))
            if cut.any():
                final = np.stack(info["final_obs"][cut]).astype(np.float32)
                scaled[cut] += gamma * values(final)
            buf_rew[t], buf_done[t] = scaled, done
            if done.any():
                final_info = info.get("final_info", {})
                success = np.asarray(final_info.get("success", np.zeros(n, bool)))
                for i in np.flatnonzero(done):
                    recent.append((ep_learned[i], ep_reference[i], float(success[i])))
                    episodes += 1
                ep_learned[done] = 0.0
                ep_reference[done] = 0.0
                running_return[done] = 0.0

        # Generalised advantage estimation.
        next_value = values(obs.astype(np.float32))
        advantages = np.zeros_like(buf_rew)
        last = np.zeros(n, np.float32)
        for t in reversed(range(t_max)):
            nv = next_value if t == t_max - 1 else buf_val[t + 1]
            nonterminal = 1.0 - buf_done[t]
            delta = buf_rew[t] + gamma * nv * nonterminal - buf_val[t]
            last = delta + gamma * config.gae_lambda * nonterminal * last
            advantages[t] = last
        returns = advantages + buf_val

        b_obs = torch.as_tensor(buf_obs.reshape(batch, obs_dim), device=device)
        b_act = torch.as_tensor(buf_act.reshape(batch, act_dim), device=device)
        b_logp = torch.as_tensor(buf_logp.reshape(batch), device=device)
        b_adv = torch.as_tensor(advantages.reshape(batch), device=device)
        b_ret = torch.as_tensor(returns.reshape(batch), device=device)
        b_val = torch.as_tensor(buf_val.reshape(batch), device=device)
        clip_fracs = []  # tensors, read once per update: a read per minibatch costs time
        for _ in range(config.epochs):
            order = torch.as_tensor(rng.permutation(batch), device=device)
            for start_i in range(0, batch, minibatch):
                idx = order[start_i : start_i + minibatch]
                mean, std = policy.mean_std(b_obs[idx])
                logp = gaussian_log_prob(b_act[idx], mean, std)
                log_ratio = logp - b_logp[idx]
                ratio = log_ratio.exp()
                if config.target_kl is not None and approx_kl(ratio, log_ratio) > 1.5 * (
                        config.target_kl):
                    break
                adv = b_adv[idx]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                pg_loss = torch.max(
                    -adv * ratio, -adv * ratio.clamp(1 - config.clip, 1 + config.clip)
                ).mean()
                value = policy.value(b_obs[idx])
                v_loss = (value - b_ret[idx]) ** 2
                if config.clip_value:
                    v_clipped = b_val[idx] + (value - b_val[idx]).clamp(-config.clip, config.clip)
                    v_loss = torch.max(v_loss, (v_clipped - b_ret[idx]) ** 2)
                v_loss = 0.5 * v_loss.mean()
                entropy = gaussian_entropy(std).mean()
                loss = config.vf_coef * v_loss
                if update > config.value_warmup:
                    loss = loss + pg_loss - config.ent_coef * entropy
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, config.max_grad_norm, foreach=True)
                optimiser.step()
                clip_fracs.append(((ratio.detach() - 1.0).abs() > config.clip).float().mean())
            else:
                continue
            break  # the policy moved past target_kl: no further epoch
        if config.normalize_obs:
            obs_rms.update(buf_obs.reshape(batch, obs_dim))

        stats = np.array(recent) if recent else np.zeros((1, 3))
        progress = TrainProgress(
            step=step,
            total_steps=updates * batch,
            update=update,
            fps=step / (time.perf_counter() - start),
            episodes=episodes,
            learned_return=float(stats[:, 0].mean()),
            reference_return=float(stats[:, 1].mean()),
            success_rate=float(stats[:, 2].mean()),
            losses={
                "losses/policy": float(pg_loss.detach()),
                "losses/value": float(v_loss.detach()),
                "losses/entropy": float(entropy.detach()),
                "losses/clip_fraction": float(torch.stack(clip_fracs).mean()),
                # as cleanrl logs it: the last minibatch's, about how far the update moved
                "losses/approx_kl": approx_kl(ratio, log_ratio),
            },
            policy=policy,
        )
        # Every callback sees every update (a logger after a stopping guard still logs it).
        stops = [callback(progress) is False for callback in callbacks]
        # After the callbacks: what they changed (a refitted reward, a new difficulty) is part
        # of the state a resumed run continues from, and a run stopped here can resume.
        if checkpoint is not None and (update % checkpoint_every == 0 or any(stops)):
            save_checkpoint(checkpoint, {
                "config": cfg.to_dict(config), "update": update, "step": step,
                "episodes": episodes, "policy": policy.state_dict(),
                "optimiser": optimiser.state_dict(), "obs_rms": obs_rms.state(),
                "ret_rms": ret_rms.state(), "rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(), "envs": env_state(envs), "obs": obs,
                "running_return": running_return, "ep_learned": ep_learned,
                "ep_reference": ep_reference, "recent": list(recent),
                "callbacks": [callback.get_state() if hasattr(callback, "get_state") else None
                              for callback in callbacks],
            })
        if after_update is not None:
            after_update(progress)
        if any(stops):
            break
    policy.set_obs_stats(obs_rms.mean, obs_rms.var)
    return policy.eval()


def restore_callbacks(callbacks: tuple[Callback, ...], states: list[Any], checkpoint) -> None:
    """Give stateful callbacks (those with ``get_state``/``set_state``: the online reward
    learner, the curriculum, the hacking monitor) the state they had when the checkpoint was
    written, matched by position."""
    for i, callback in enumerate(callbacks):
        if not hasattr(callback, "set_state"):
            continue
        if i >= len(states) or states[i] is None:
            raise CheckpointError(f"{checkpoint} holds no state for callback {i} ({callback!r}); "
                                  "resume with the callbacks the run was started with, in order")
        callback.set_state(states[i])


def evaluate_policy(
    policy: GaussianPolicy, env: gym.Env, episodes: int, seed: int = 10_000
) -> dict[str, float]:
    """Deterministic rollouts; success rate (ground truth) and mean env return."""
    successes, returns = [], []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        done, total = False, 0.0
        info: dict[str, Any] = {}
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy.act(obs))
            total += float(reward)
            done = terminated or truncated
        successes.append(float(info.get("success", False)))
        returns.append(total)
    return {"success_rate": float(np.mean(successes)), "mean_return": float(np.mean(returns))}
