"""Reach from 5 demonstrations, the way a newcomer does it (`workbench record Reach --scripted 5
--failures`, `train-reward`, `train`): the scene's default progress reward, kernel regression
over the demos' states, trains PPO to success. Its MLP saturated before the 2 cm success radius
and trained to 0% on every seed tried (docs/BENCHMARKS.md, "Reach from 5 demonstrations")."""

from __future__ import annotations

import pytest

from tests.margins import TORCH_THREADS, at_least, seed
from workbench import config as cfg
from workbench.data import Workspace
from workbench.rewards.families import get as family
from workbench.rewards.workflow import fit_progress_in_workspace
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.teleop.recorder import record_demo_set

EVAL_EPISODES = 30
# Over ten runs (seed shifts 0-800, and shift 0 with two torch threads) the trained policy
# succeeded in 30 of 30 episodes on nine and 9 of 30 on one (shift 800); random actions: 0.
THRESHOLD = 0.1


@pytest.mark.rl_outcome
def test_the_default_progress_reward_trains_reach_from_five_demos(tmp_path):
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        record_demo_set(ws, "Reach", 5, seed=seed(1000))
        config = family("progress").default_config("Reach")
        assert config.kernel > 0 and config.inputs == ("hand_to_target",)
        fit_progress_in_workspace(ws, "Reach", config)
        run = cfg.override(RunConfig(scene="Reach", torch_threads=TORCH_THREADS), [
            "ppo.total_steps=81920", f"ppo.seed={seed(0)}", f"eval_episodes={EVAL_EPISODES}",
            "tensorboard=false", "checkpoint_every=0"])
        success = train_run(ws, run)["success_rate"]
    # Random actions end within 2 cm of the target in none of these episodes.
    at_least(("Reach from 5 demos: true success of the trained policy", success, THRESHOLD))
