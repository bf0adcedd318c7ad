"""A sweep's grid: ``KEY=V1,V2,...`` items crossed into grid points, each point's assignments
applied to the settings every trial starts from. Checked before anything starts, naming a bad
key or value."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

from workbench import config as cfg
from workbench.config import ConfigError
from workbench.rl.run_config import REWARDS, RunConfig

# RunConfig's fields a trial does not use: each trial steps its envs in its own worker, and
# the sweep's --cluster says where the trials run.
NOT_SWEPT = ("cluster", "rollout_actors", "cluster_retries")


def grid_assignments(grid: Sequence[str], base: RunConfig) -> list[tuple[str, ...]]:
    """``["ppo.lr=1e-4,3e-4", "reward=reference,sparse"]`` -> every combination as override
    assignments, each checked against ``base`` before anything starts."""
    axes, keys = [], set()
    for item in grid:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")  # as on the command line: ppo.ent-coef
        choices = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key or not choices:
            raise ConfigError(f"grid: {item!r} must be KEY=VALUE1,VALUE2,... "
                              "(ppo.lr=1e-4,3e-4)")
        if key == "ppo.seed":
            raise ConfigError("grid: seeds come from --seeds, not from the grid")
        if key in NOT_SWEPT:
            raise ConfigError(f"grid: {key} is not swept (each trial steps its envs in its "
                              "own worker); --cluster says where the trials run")
        # Twice, the later value would win in every trial: grid points that differ only in
        # name, trained alike and ranked apart.
        if key in keys:
            raise ConfigError(f"grid: {key} is given twice; list its values once "
                              f"({key}=V1,V2,...)")
        repeated = sorted({c for c in choices if choices.count(c) > 1})
        if repeated:
            raise ConfigError(f"grid: {item!r} lists {', '.join(repeated)} more than once")
        keys.add(key)
        axes.append([f"{key}={choice}" for choice in choices])
    combinations = [tuple(c) for c in itertools.product(*axes)]
    for assignments in combinations:
        try:  # refuses an unknown key or a bad value, naming it
            algorithm = trial_config(base, assignments).algorithm
        except ConfigError as error:
            raise ConfigError(f"grid: {error}") from None
        if algorithm != "ppo":
            raise ConfigError("algorithm: a sweep trains PPO (ASHA's rungs are PPO updates, "
                              "its seeds PPO's); train SAC runs one by one")
    return combinations


def trial_config(base: RunConfig, assignments: Sequence[str]) -> RunConfig:
    """``base`` with a grid point's assignments. ``reward=`` takes a reward's name or a reward
    model's folder (``reward=models/a,models/b`` compares two models; a relative folder is
    read from the workspace, as ``--reward-model``), and a name clears the base's model."""
    rest = []
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        if key.strip() != "reward":
            rest.append(assignment)
        elif value.strip() in REWARDS:
            keep = base.reward_model if value.strip() == "model" else ""
            base = replace(base, reward=value.strip(), reward_model=keep)
        else:
            base = replace(base, reward="model", reward_model=value.strip())
    return cfg.override(base, rest)
