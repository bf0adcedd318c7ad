"""Branching comparisons: several continuations of one saved state, to be ranked.

Segments from different episodes differ in everything (layout, colours, how far along they
are), so a label mixes many causes. Branches that start from the same state differ only in what
happened after it, which is the question a person can answer best (as in the "branching"
queries of interactive reward learning). Each branch is saved as an episode of its own
(source ``branch``, its parent and frame in the metadata) and replays exactly like any other.
"""

from __future__ import annotations

import numpy as np

from workbench.data.segments import Segment
from workbench.data.workspace import Workspace
from workbench.envs.replay import env_for
from workbench.teleop.recorder import Policy, Recorder


def branch_episodes(
    workspace: Workspace,
    episode_id: int,
    t: int,
    length: int = 25,
    branches: int = 2,
    noise: float = 0.5,
    policy: Policy | None = None,
    seed: int = 0,
) -> list[Segment]:
    """Record ``branches`` continuations of ``length`` steps from frame ``t`` of an episode.

    Each follows ``policy`` (by default the recorded actions after ``t``) plus Gaussian action
    noise of scale ``noise`` drawn per branch, so the branches diverge. Returns one segment per
    branch covering the whole branch.
    """
    episode = workspace.load_episode(episode_id)
    n = len(episode)
    if not 0 <= t < n:
        raise ValueError(f"episode {episode_id} has frames 0..{n - 1}; cannot branch at {t}")
    if branches < 2:
        raise ValueError("a comparison needs at least 2 branches")
    actions = episode.get("action")
    env = env_for(episode)
    rng = np.random.default_rng(seed)
    recorder = Recorder(env, workspace, "branch", goal=episode.meta.get("goal"))
    segments = []
    try:
        for branch in range(branches):
            obs = recorder.start(
                seed=episode.meta["seed"], from_state=episode["sim_state"][t],
                meta={"branched_from": {"episode": episode_id, "t": t, "branch": branch}},
            )
            for k in range(length):
                if policy is not None:
                    base = np.asarray(policy(env, obs), np.float32)
                elif actions is not None and t + 1 + k < len(actions):
                    base = actions[t + 1 + k]
                else:
                    base = np.zeros(env.action_space.shape, np.float32)
                action = base + rng.normal(0.0, noise, base.shape)
                obs, _, terminated, truncated, _ = recorder.step(action)
                if terminated or truncated:
                    break
            new_id = recorder.save()
            segments.append(Segment(new_id, 0, workspace.load_episode(new_id).meta["num_steps"]))
    finally:
        recorder.discard()
        recorder.close()
        env.close()
    return segments
