"""Take-over while a policy runs: the person's steps replace the policy's, the take records
which steps were the person's, and SAC samples them as half of every batch."""

from __future__ import annotations

import numpy as np

from workbench.data import Workspace
from workbench.envs.goal import make_goal_env
from workbench.rl.sac import SACConfig, train_sac
from workbench.rl.takeover import Interventions, run_with_takeover, scripted_takeover


def test_a_take_over_records_which_steps_were_the_persons(tmp_path):
    env = make_goal_env("Reach", difficulty=1.0)
    script = scripted_takeover(env, start=5, steps=10, seed=0)
    given: list[np.ndarray] = []

    def device(goal_env):
        action = script(goal_env)
        if action is not None:
            given.append(action)
        return action

    with Workspace.open(tmp_path / "ws", create=True) as ws:
        report = run_with_takeover(env, lambda obs: np.zeros(4, np.float32), device,
                                   episodes=2, seed=3, workspace=ws)
        steps = env.base.task.episode_steps
        expected = [5 <= t < 15 for t in range(steps)]
        assert report.human_steps == [expected, expected]
        assert len(report.interventions) == 20
        for episode_id in report.episode_ids:
            episode = ws.load_episode(episode_id)
            assert episode.meta["source"] == "takeover"
            np.testing.assert_array_equal(episode["human"], expected)
            # the policy (zeros) acted where the person did not
            assert not np.abs(episode["action"][~np.asarray(expected)]).any()
        recorded = np.concatenate([ws.load_episode(i)["action"][np.asarray(expected)]
                                   for i in report.episode_ids])
        np.testing.assert_allclose(recorded, np.clip(np.stack(given), -1, 1), atol=1e-7)
    # Every intervention's reward is the scene's sparse goal reward for where it led.
    assert set(report.interventions.reward) <= {0.0, -1.0}


def test_sac_fills_half_of_every_batch_with_the_persons_steps():
    env = make_goal_env("Reach", difficulty=1.0)
    report = run_with_takeover(env, lambda obs: np.zeros(4, np.float32),
                               scripted_takeover(env, 0, 30, seed=1), episodes=2, seed=5)
    sizes: list[int] = []

    class Counting(Interventions):
        def sample(self, batch, rng):
            sizes.append(batch)
            return super().sample(batch, rng)

    demos = Counting(**vars(report.interventions))
    train_sac(make_goal_env("Reach", difficulty=1.0),
              SACConfig(total_steps=200, batch_size=64, learning_starts=60, log_every=200),
              demos=demos)
    assert sizes and set(sizes) == {32}
    assert len(sizes) >= 200 - 120  # one update per step once a finished episode is stored
