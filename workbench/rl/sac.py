"""Soft actor-critic (Haarnoja et al., 2018) with hindsight experience replay (Andrychowicz et
al., 2017) for goal-conditioned scenes, in one module.

Off-policy and sample-efficient where PPO is not: every transition is reused for many updates,
and with HER a failed episode still teaches how to reach the places it did reach. The "future"
strategy relabels ``her_future`` of every ``her_future + 1`` sampled transitions with a goal the
same episode achieved later, and recomputes the sparse reward with the env's vectorised
``compute_reward`` (see :mod:`workbench.envs.goal`). Plain Box-observation envs (any gymnasium
id, e.g. ``Pendulum-v1``) train the same way without relabelling.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from workbench.config import DEVICE, validated
from workbench.envs.env import box
from workbench.rl.normalize import RunningMeanStd
from workbench.rl.policy import GaussianPolicy
from workbench.rl.ppo import Callback, TrainProgress, pick_device

OBS_CLIP = 5.0  # normalised inputs are clipped to +-5


@dataclass(frozen=True)
@validated
class SACConfig:
    total_steps: int = field(default=50_000, metadata={
        "help": "environment steps", "min": 1, "max": 10**12})
    batch_size: int = field(default=256, metadata={"help": "transitions per update", "min": 1})
    lr: float = field(default=1e-3, metadata={
        "help": "Adam learning rate (all networks)", "gt": 0.0, "max": 1.0})
    gamma: float = field(default=0.95, metadata={"help": "discount", "gt": 0.0, "max": 1.0})
    tau: float = field(default=0.05, metadata={
        "help": "target network averaging rate", "gt": 0.0, "max": 1.0})
    hidden: tuple[int, ...] = field(default=(256, 256), metadata={
        "help": "MLP sizes", "min": 1, "max": 65_536})
    learning_starts: int = field(default=1_000, metadata={
        "help": "random steps before updates", "min": 0})
    updates_per_step: float = field(default=1.0, metadata={
        "help": "gradient steps per env step", "gt": 0.0, "max": 1000.0})
    her: bool = field(default=True, metadata={"help": "hindsight relabelling (goal envs)"})
    her_future: int = field(default=4, metadata={
        "help": "relabelled per real goal (k)", "min": 0, "max": 1000})
    seed: int = field(default=0, metadata={
        "help": "seed of the env, torch and numpy", "min": 0, "max": 2**63 - 1})
    device: str = field(default="cpu", metadata={"help": "cpu, cuda or auto", **DEVICE})
    log_every: int = field(default=1_000, metadata={
        "help": "steps between progress reports", "min": 1})


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SquashedGaussianActor(nn.Module):
    def __init__(self, in_dim: int, act_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.body = mlp([in_dim, *hidden, 2 * act_dim])

    def forward(self, x: torch.Tensor, deterministic: bool = False):
        mean, log_std = self.body(x).chunk(2, dim=-1)
        if deterministic:
            return torch.tanh(mean), None
        std = log_std.clamp(-20, 2).exp()
        u = mean + std * torch.randn_like(mean)
        action = torch.tanh(u)
        log_prob = torch.distributions.Normal(mean, std).log_prob(u).sum(-1)
        log_prob -= (2 * (np.log(2) - u - F.softplus(-2 * u))).sum(-1)  # tanh correction
        return action, log_prob


class GoalReplay:
    """Every transition of the run, by episode; samples with hindsight goals on the fly."""

    def __init__(self, capacity: int, obs_dim: int, goal_dim: int, act_dim: int):
        f32 = np.float32
        self.obs = np.zeros((capacity, obs_dim), f32)
        self.next_obs = np.zeros((capacity, obs_dim), f32)
        self.action = np.zeros((capacity, act_dim), f32)
        self.reward = np.zeros(capacity, f32)
        self.terminated = np.zeros(capacity, f32)
        self.goal = np.zeros((capacity, goal_dim), f32)
        self.next_achieved = np.zeros((capacity, goal_dim), f32)
        self.episode_end = np.zeros(capacity, np.int64)  # exclusive end of its episode
        self.size = 0
        self._episode_start = 0

    def add(self, obs, action, reward, next_obs, terminated, goal, next_achieved) -> None:
        i = self.size
        self.obs[i], self.action[i], self.reward[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, terminated
        self.goal[i], self.next_achieved[i] = goal, next_achieved
        self.size += 1

    def end_episode(self) -> None:
        self.episode_end[self._episode_start : self.size] = self.size
        self._episode_start = self.size

    def relabel(self, score) -> None:
        """Rewrite every stored reward as ``score(next_obs)``: after a learned reward is refitted
        (PEBBLE), old transitions teach the critic the new reward, not the one they met."""
        if self.size:
            self.reward[: self.size] = score(self.next_obs[: self.size])

    @property
    def ready(self) -> int:
        """Transitions of finished episodes (the ones a future goal can be drawn for)."""
        return self._episode_start

    def sample(self, batch: int, rng: np.random.Generator, relabel: float, reward_fn):
        index = rng.integers(0, self.ready, batch)
        goal = self.goal[index].copy()
        reward = self.reward[index].copy()
        if relabel > 0:
            chosen = rng.random(batch) < relabel
            ends = self.episode_end[index[chosen]]
            future = index[chosen] + (rng.random(chosen.sum()) *
                                      (ends - index[chosen])).astype(np.int64)
            goal[chosen] = self.next_achieved[future]
            reward = reward_fn(self.next_achieved[index], goal)
        return (self.obs[index], self.action[index], reward, self.next_obs[index],
                self.terminated[index], goal)


class SACAgent(nn.Module):
    """Actor, twin critics and their targets, the entropy temperature, input normalisers."""

    def __init__(self, obs_dim: int, goal_dim: int, act_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        in_dim = obs_dim + goal_dim
        self.actor = SquashedGaussianActor(in_dim, act_dim, hidden)
        self.q1, self.q2 = mlp([in_dim + act_dim, *hidden, 1]), mlp([in_dim + act_dim, *hidden, 1])
        self.q1_target, self.q2_target = mlp([in_dim + act_dim, *hidden, 1]), mlp(
            [in_dim + act_dim, *hidden, 1])
        self.q1_target.load_state_dict(self.q1.state_dict())
        self.q2_target.load_state_dict(self.q2.state_dict())
        self.log_alpha = nn.Parameter(torch.zeros(()))
        self.obs_rms = RunningMeanStd((obs_dim,))
        self.goal_rms = RunningMeanStd((goal_dim,))

    def inputs(self, obs: np.ndarray, goal: np.ndarray, device) -> torch.Tensor:
        x = self.obs_rms.normalize(obs, clip=OBS_CLIP)
        if goal.shape[-1]:
            x = np.concatenate([x, self.goal_rms.normalize(goal, clip=OBS_CLIP)], axis=-1)
        return torch.as_tensor(x, device=device)

    @torch.no_grad()
    def as_policy(self, flat_inputs: np.ndarray | None = None, flat_dim: int = 0
                  ) -> GaussianPolicy:
        """The deterministic actor as a :class:`GaussianPolicy` (tanh of the mean, the same
        normaliser), which the preview, evaluation and bundle export already run. A
        goal-conditioned actor becomes a policy over the scene's flat state: its input ``i``
        is the state's entry ``flat_inputs[i]`` (``GoalEnv.flat_inputs``), so the first layer
        reads those columns and the state's other entries get zero weight."""
        goal_dim = self.goal_rms.mean.shape[0]
        linears = [m for m in self.actor.body if isinstance(m, nn.Linear)]
        inputs = linears[0].in_features
        if goal_dim and flat_inputs is None:
            raise ValueError("a goal-conditioned SAC actor takes (observation, goal): give "
                             "where each input sits in the flat state (GoalEnv.flat_inputs)")
        index = np.arange(inputs) if flat_inputs is None else np.asarray(flat_inputs)
        width = flat_dim or inputs
        policy = GaussianPolicy(width, linears[-1].out_features // 2,
                                tuple(m.out_features for m in linears[:-1]),
                                activation="relu", squash=True, obs_clip=OBS_CLIP)
        targets = [m for m in policy.actor if isinstance(m, nn.Linear)]
        for layer, (source, target) in enumerate(zip(linears, targets, strict=True)):
            rows = target.out_features  # the head's first half is the mean
            if layer == 0:
                target.weight.zero_()
                target.weight[:, index] = source.weight[:rows]
            else:
                target.weight.copy_(source.weight[:rows])
            target.bias.copy_(source.bias[:rows])
        mean, var = np.zeros(width), np.ones(width)
        mean[index] = np.concatenate([self.obs_rms.mean, self.goal_rms.mean])
        var[index] = np.concatenate([self.obs_rms.var, self.goal_rms.var])
        policy.set_obs_stats(mean, var)
        return policy.to(self.log_alpha.device).eval()

    @torch.no_grad()
    def act(self, obs: np.ndarray, goal: np.ndarray, deterministic: bool = True) -> np.ndarray:
        device = self.log_alpha.device
        x = self.inputs(np.atleast_2d(obs), np.atleast_2d(goal), device)
        return self.actor(x, deterministic)[0].cpu().numpy()[0]


class OneEnv(gym.Env):
    """The only env of a one-env vector env (SAME_STEP autoreset) as a plain env, so the
    vector wrappers a run rewards with (learned, sparse, frame rewards, the curriculum) serve
    SAC as they serve PPO. The step that ends an episode returns that episode's last
    observation and info; the next ``reset()`` returns the state the vector env reset to."""

    def __init__(self, envs: gym.vector.VectorEnv):
        if envs.num_envs != 1:
            raise ValueError(f"OneEnv wraps a vector env of one env, not {envs.num_envs}")
        self.envs = envs
        self.observation_space = envs.single_observation_space
        self.action_space = envs.single_action_space
        self._next: tuple[Any, dict[str, Any]] | None = None  # the auto-reset's first state

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if self._next is not None and seed is None and options is None:
            first, self._next = self._next, None
            return first
        self._next = None
        obs, info = self.envs.reset(seed=seed, options=options)
        return obs[0], _first(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.envs.step(np.asarray(action)[None])
        ended = bool(terminated[0] or truncated[0])
        last_obs, last_info = obs[0], _first(info)
        if ended:  # SAME_STEP: obs is already the next episode's; the ended one's is final_obs
            self._next = (obs[0], last_info)
            last_obs, last_info = info["final_obs"][0], {**last_info,
                                                         **_first(info["final_info"])}
        return last_obs, float(reward[0]), bool(terminated[0]), bool(truncated[0]), last_info

    def close(self) -> None:
        self.envs.close()


def _first(info: dict[str, Any]) -> dict[str, Any]:
    """Env 0's entries of a vector env's info (masks and final-step entries left out)."""
    return {key: value[0] for key, value in info.items()
            if not key.startswith("_") and key not in ("final_obs", "final_info")}


def _split(obs, goal_env: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if goal_env:
        return obs["observation"], obs["desired_goal"], obs["achieved_goal"]
    empty = np.zeros(0, np.float32)
    return np.asarray(obs, np.float32).ravel(), empty, empty


def train_sac(env: gym.Env, config: SACConfig = SACConfig(),
              callbacks: tuple[Callback, ...] = (), feedback=None, demos=None) -> SACAgent:
    """Train on one env (goal-conditioned Dict observations, or a flat Box) and return the
    agent; actions are scaled from [-1, 1] to the env's action bounds.

    ``feedback`` (a :class:`workbench.rl.online_reward.OnlinePreference`) replaces the env's
    reward with a preference reward learned while training, PEBBLE style: it sees every
    transition, runs a feedback round at every progress report, and after each refit the whole
    replay buffer is relabelled with the new reward.

    ``demos`` (:class:`workbench.rl.takeover.Interventions`: a person's take-over steps, or
    demonstrations) fill half of every batch, the other half coming from the run's own replay
    (RLPD's symmetric sampling); the input normalisers see them from the start."""
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    goal_env = isinstance(env.observation_space, gym.spaces.Dict)
    obs, _ = env.reset(seed=config.seed)
    o, g, _ = _split(obs, goal_env)
    actions = box(env.action_space)
    act_dim, low, high = int(np.prod(actions.shape)), actions.low, actions.high
    agent = SACAgent(len(o), len(g), act_dim, config.hidden).to(device)
    critic_params = [*agent.q1.parameters(), *agent.q2.parameters()]
    actor_opt = torch.optim.Adam(agent.actor.parameters(), lr=config.lr)
    critic_opt = torch.optim.Adam(critic_params, lr=config.lr)
    alpha_opt = torch.optim.Adam([agent.log_alpha], lr=config.lr)
    target_entropy = -float(act_dim)
    replay = GoalReplay(config.total_steps, len(o), len(g), act_dim)
    if demos is not None and len(demos):
        agent.obs_rms.update(np.asarray(demos.next_obs, np.float32))
        if goal_env:
            agent.goal_rms.update(np.asarray(demos.goal, np.float32))
    else:
        demos = None
    relabel = (config.her_future / (config.her_future + 1)) if (config.her and goal_env) else 0.0
    reward_fn = env.get_wrapper_attr("compute_reward") if goal_env else None
    episode_return, returns, successes = 0.0, [], []
    episode_env_return, env_returns = 0.0, []
    losses: dict[str, float] = {}
    start, debt = time.perf_counter(), 0.0
    for step in range(1, config.total_steps + 1):
        if step <= config.learning_starts:
            action = rng.uniform(-1.0, 1.0, act_dim).astype(np.float32)
        else:
            action = agent.act(o, g, deterministic=False)
        next_obs, reward, terminated, truncated, info = env.step(
            low + (action + 1.0) * 0.5 * (high - low))
        next_o, next_g, next_ag = _split(next_obs, goal_env)
        episode_env_return += float(reward)
        if feedback is not None:
            feedback.observe(next_o[None], np.array([reward]), np.array([terminated or truncated]))
            reward = float(feedback.model.score(next_o[None])[0]) if feedback.model else 0.0
        replay.add(o, action, reward, next_o, float(terminated), g, next_ag)
        agent.obs_rms.update(next_o[None])
        if goal_env:
            agent.goal_rms.update(np.stack([next_g, next_ag]))
        episode_return += float(reward)
        o, g = next_o, next_g
        if terminated or truncated:
            replay.end_episode()
            returns.append(episode_return)
            env_returns.append(episode_env_return)
            successes.append(float(info.get("is_success", info.get("success", False))))
            episode_return = episode_env_return = 0.0
            obs, _ = env.reset()
            o, g, _ = _split(obs, goal_env)
        if step > config.learning_starts and replay.ready >= config.batch_size:
            debt += config.updates_per_step
            while debt >= 1.0:
                losses = _update(agent, replay, config, rng, relabel, reward_fn, device,
                                 (actor_opt, critic_opt, alpha_opt), target_entropy, demos)
                debt -= 1.0
        if step % config.log_every == 0 or step == config.total_steps:
            recent = slice(-20, None)
            progress = TrainProgress(
                step=step, total_steps=config.total_steps, update=step // config.log_every,
                episodes=len(returns),
                fps=step / (time.perf_counter() - start),
                learned_return=float(np.mean(returns[recent])) if returns else 0.0,
                success_rate=float(np.mean(successes[recent])) if successes else 0.0,
                reference_return=float(np.mean(env_returns[recent])) if returns else 0.0,
                losses=losses, policy=agent)
            if feedback is not None and feedback.feedback_round(step, config.total_steps):
                replay.relabel(feedback.model.score)
                progress.extras["feedback/labels"] = float(len(feedback.queries))
            if any([cb(progress) is False for cb in callbacks]):  # every callback sees it
                break
    return agent.eval()


def _update(agent: SACAgent, replay: GoalReplay, config: SACConfig, rng, relabel, reward_fn,
            device, optimisers, target_entropy: float, demos=None) -> dict[str, float]:
    actor_opt, critic_opt, alpha_opt = optimisers
    own = config.batch_size if demos is None else config.batch_size - config.batch_size // 2
    obs, action, reward, next_obs, terminated, goal = replay.sample(
        own, rng, relabel, reward_fn)
    if demos is not None:  # the other half from the person's steps
        parts = demos.sample(config.batch_size - own, rng)
        obs, action, reward, next_obs, terminated, goal = (
            np.concatenate([a, np.asarray(b, np.float32)]) for a, b in zip(
                (obs, action, reward, next_obs, terminated, goal), parts, strict=True))
    x = agent.inputs(obs, goal, device)
    x_next = agent.inputs(next_obs, goal, device)
    action = torch.as_tensor(action, device=device)
    reward = torch.as_tensor(reward, device=device)
    not_done = 1.0 - torch.as_tensor(terminated, device=device)
    alpha = agent.log_alpha.exp().detach()
    with torch.no_grad():
        next_action, next_log_prob = agent.actor(x_next)
        xa_next = torch.cat([x_next, next_action], -1)
        q_next = torch.min(agent.q1_target(xa_next), agent.q2_target(xa_next)).squeeze(-1)
        target = reward + config.gamma * not_done * (q_next - alpha * next_log_prob)
        if relabel:  # sparse goal rewards in [-1, 0]: the return lies in [-1/(1-gamma), 0]
            target = target.clamp(-1.0 / (1.0 - config.gamma), 0.0)
    xa = torch.cat([x, action], -1)
    critic_loss = (F.mse_loss(agent.q1(xa).squeeze(-1), target)
                   + F.mse_loss(agent.q2(xa).squeeze(-1), target))
    critic_opt.zero_grad()
    critic_loss.backward()
    critic_opt.step()
    new_action, log_prob = agent.actor(x)
    xa_new = torch.cat([x, new_action], -1)
    q_new = torch.min(agent.q1(xa_new), agent.q2(xa_new)).squeeze(-1)
    actor_loss = (alpha * log_prob - q_new).mean()
    actor_opt.zero_grad()
    actor_loss.backward()
    actor_opt.step()
    alpha_loss = -(agent.log_alpha * (log_prob.detach() + target_entropy)).mean()
    alpha_opt.zero_grad()
    alpha_loss.backward()
    alpha_opt.step()
    with torch.no_grad():
        for net, target_net in ((agent.q1, agent.q1_target), (agent.q2, agent.q2_target)):
            for p, tp in zip(net.parameters(), target_net.parameters(), strict=True):
                tp.mul_(1 - config.tau).add_(config.tau * p)
    return {"losses/critic": critic_loss.item(), "losses/actor": actor_loss.item(),
            "losses/alpha": float(alpha.item())}


def evaluate_sac(agent: SACAgent, env: gym.Env, episodes: int, seed: int = 10_000
                 ) -> dict[str, Any]:
    """Deterministic episodes: success at the final step (goal envs, as in Gymnasium-Robotics)
    or the scene's success, and the mean return."""
    goal_env = isinstance(env.observation_space, gym.spaces.Dict)
    low, high = box(env.action_space).low, box(env.action_space).high
    successes, returns = [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        done, total = False, 0.0
        info: dict[str, Any] = {}
        while not done:
            o, g, _ = _split(obs, goal_env)
            action = agent.act(o, g)
            obs, reward, terminated, truncated, info = env.step(
                low + (action + 1.0) * 0.5 * (high - low))
            total += float(reward)
            done = terminated or truncated
        successes.append(float(info.get("is_success", info.get("success", False))))
        returns.append(total)
    return {"success_rate": float(np.mean(successes)), "mean_return": float(np.mean(returns))}
