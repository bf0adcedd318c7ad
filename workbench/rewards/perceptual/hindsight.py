"""Hindsight frames: success examples for an image reward, rendered from recorded takes' states.

One demonstration shows its goal reached at one place, so a success head fitted on it learns
what that one success looks like, not the relation "the hand (or cube) is at the goal". The
simulator can show that relation anywhere a take went (a demo, or a failed rollout whose hand
went where no demo did): restore a recorded state, move the
goal to where the hand already is (reached) or a few centimetres away from it (not reached), and
render. Labels come from the goal geometry (``achieved_goal``, ``desired_goal`` and the scene's
``goal_tolerance``), as hindsight experience replay relabels goals in state space (Andrychowicz
et al., 2017); no rollout is run and the scene's success test is not asked.

Needs a goal-conditioned scene that can move its goal (``Task.place_goal``) and episodes with
simulator states (every recorded take has them).
"""

from __future__ import annotations

import numpy as np

from workbench.data.episode import Episode
from workbench.envs.replay import EpisodeReplay, env_for
from workbench.task import Task


def can_relabel(scene: str) -> bool:
    """Whether ``scene`` can move its goal for hindsight frames."""
    from workbench.registry import SCENES

    task = SCENES.load(scene)
    return bool(task.goal_tolerance) and task.place_goal is not Task.place_goal


def moved_goal(achieved: np.ndarray, missed: bool, tolerance: float, rng: np.random.Generator,
               farthest: float = 0.15, near: float = 3.0, within: float = 0.0) -> np.ndarray:
    """A goal ``near`` tolerances to ``farthest`` metres from ``achieved`` (``missed``), else
    up to ``within`` tolerances from it, in a random direction."""
    if not (missed or within):
        return achieved.copy()  # (drawing nothing keeps older fits' random streams)
    direction = rng.normal(size=achieved.shape)
    reach = (rng.uniform(near * tolerance, farthest) if missed
             else rng.uniform(0.0, within * tolerance))
    return achieved + direction / np.linalg.norm(direction) * reach


def hindsight_frames(
    episode: Episode,
    cameras: tuple[str, ...],
    count: int,
    rng: np.random.Generator,
    farthest: float = 0.15,
    near: float = 3.0,
    within: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` frames of ``episode``'s recorded states re-rendered with the goal moved, half
    onto the achieved goal (up to ``within`` tolerances from it) and half ``near`` tolerances
    to ``farthest`` metres from it (near misses teach where success ends: ``near`` just over 1).

    Returns ``(frames, firsts, reached)``: (N, V, H, W, 3) uint8 frames at the size the episode
    was recorded at, each one's first frame with the goal moved alike (for models that see the
    change since the start), and 1.0 where the goal is reached, 0.0 where it is not. Negatives
    a scene clipped back to within ``2 near / 3`` tolerances of the achieved goal are dropped.
    """
    from workbench.sim.render import MODEL_FRAMES, CameraRenderer

    scene = episode.meta["scene"]
    if not can_relabel(scene):
        raise ValueError(f"{scene} cannot move its goal (Task.place_goal), so it has no "
                         "hindsight frames: set hindsight=0")
    missing = [c for c in cameras if f"image/{c}" not in episode.keys()]
    if missing:
        raise ValueError(f"episode {episode.id} has no frames of {missing} to match in size")
    height, width = episode[f"image/{cameras[0]}"].shape[1:3]
    env = env_for(episode)
    task, physics = env.task, env.physics
    tolerance = task.goal_tolerance
    replay = EpisodeReplay(env)
    frames, firsts, reached = [], [], []
    try:
        with CameraRenderer(physics.model, width, height, MODEL_FRAMES) as renderer:

            def render(goal: np.ndarray) -> np.ndarray:  # the shown state, the goal moved
                task.place_goal(physics, goal)
                physics.forward()
                return np.stack([renderer.rgb(physics.data, c) for c in cameras])

            for i, t in enumerate(rng.integers(0, len(episode), size=count)):
                replay.show(episode, int(t))
                achieved = task.achieved_goal(physics)
                goal = moved_goal(achieved, bool(i % 2), tolerance, rng, farthest, near, within)
                task.place_goal(physics, goal)  # the scene may clip it
                distance = float(np.linalg.norm(task.desired_goal(physics) - achieved))
                if i % 2 and distance < 2 * near / 3 * tolerance:
                    continue
                frames.append(render(goal))
                replay.show(episode, 0)
                firsts.append(render(goal))
                reached.append(float(distance < tolerance))
    finally:
        env.close()
    return np.stack(frames), np.stack(firsts), np.asarray(reached, np.float32)
