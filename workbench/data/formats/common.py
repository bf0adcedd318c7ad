"""Shared steps of dataset export and import: aligning the workbench's frames with the
(observation, action, next observation) rows the standard formats use."""

from __future__ import annotations

import numpy as np

from workbench.data.episode import Episode, one_robot
from workbench.data.workspace import Workspace


def load_episodes(workspace: Workspace, episode_ids: list[int] | None,
                  scene: str | None) -> list[Episode]:
    rows = workspace.episodes(scene=scene)
    ids = episode_ids if episode_ids is not None else [r["id"] for r in rows]
    if not ids:
        raise ValueError(f"no saved episodes{' of ' + scene if scene else ''} to export")
    if scene and episode_ids is None:
        one_robot(rows, scene, "a dataset holds one robot's: name one ({robots}) with --robot")
    episodes = [workspace.load_episode(i) for i in ids]
    shapes = {(e["state"].shape[1:], e["action"].shape[1:]) for e in episodes}
    if len(shapes) > 1:
        raise ValueError(
            "the episodes have different observation or action shapes; export one scene and "
            "control mode at a time (--scene)"
        )
    return episodes


WITHOUT_FRAMES = ("refuse", "skip", "drop")


def frames_choice(episodes: list[Episode], without_frames: str = "refuse"
                  ) -> tuple[list[Episode], list[str]]:
    """The episodes to export and their cameras, when only some episodes carry frames:
    ``refuse`` (an error naming them), ``skip`` the episodes without, or ``drop`` every
    camera. Never silently: a camera some episodes lack is not quietly left out."""
    if without_frames not in WITHOUT_FRAMES:
        raise ValueError(f"without_frames must be one of {', '.join(WITHOUT_FRAMES)}, "
                         f"got {without_frames!r}")
    every = set().union(*({k.split("/", 1)[1] for k in e.keys() if k.startswith("image/")}
                          for e in episodes)) if episodes else set()
    if not every or without_frames == "drop":
        return episodes, []
    lacking = [e for e in episodes if not all(f"image/{c}" in e.keys() for c in every)]
    if not lacking:
        return episodes, sorted(every)
    if without_frames == "refuse":
        ids = ", ".join(str(e.meta.get("id", "?")) for e in lacking)
        raise ValueError(f"episodes {ids} have no frames of {', '.join(sorted(every))}: choose "
                         "--without-frames skip (leave them out) or drop (export no camera)")
    kept = [e for e in episodes if e not in lacking]
    if not kept:
        return episodes, []
    return kept, sorted(every)


def rows_of(episode: Episode) -> dict[str, np.ndarray]:
    """Per-step rows: the observation before each action, the action, what followed."""
    initial = episode.initial()
    state, sim_state = episode["state"], episode["sim_state"]
    return {
        "observation.state": np.concatenate([initial["state"][None], state[:-1]]),
        "observation.sim_state": np.concatenate([initial["sim_state"][None], sim_state[:-1]]),
        "action": episode["action"],
        "next.observation.state": state,
        "next.observation.sim_state": sim_state,
        "next.reward": episode["reward"],
        "next.success": episode["success"],
        "next.progress": episode["progress"],
    }


def frames_from_rows(rows: dict[str, np.ndarray]
                     ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Back from rows to the recorder's frames and the episode's initial state."""
    frames: dict[str, np.ndarray] = {
        "action": rows["action"].astype(np.float32),
        "state": rows["next.observation.state"].astype(np.float32),
        "sim_state": rows["next.observation.sim_state"].astype(np.float64),
        "reward": rows["next.reward"].astype(np.float32),
        "progress": rows["next.progress"].astype(np.float32),
        "success": rows["next.success"].astype(np.bool_),
    }
    initial = {
        "state": rows["observation.state"][0].astype(np.float32),
        "sim_state": rows["observation.sim_state"][0].astype(np.float64),
    }
    return frames, initial
