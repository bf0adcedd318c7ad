"""Shared steps of dataset export and import: aligning the workbench's frames with the
(observation, action, next observation) rows the standard formats use."""

from __future__ import annotations

import numpy as np

from workbench.data.episode import Episode
from workbench.data.workspace import Workspace


def load_episodes(workspace: Workspace, episode_ids: list[int] | None,
                  scene: str | None) -> list[Episode]:
    rows = workspace.episodes(scene=scene)
    ids = episode_ids if episode_ids is not None else [r["id"] for r in rows]
    if not ids:
        raise ValueError(f"no saved episodes{' of ' + scene if scene else ''} to export")
    episodes = [workspace.load_episode(i) for i in ids]
    shapes = {(e["state"].shape[1:], e["action"].shape[1:]) for e in episodes}
    if len(shapes) > 1:
        raise ValueError(
            "the episodes have different observation or action shapes; export one scene and "
            "control mode at a time (--scene)"
        )
    return episodes


def cameras_of(episodes: list[Episode]) -> list[str]:
    """Cameras every episode has images of (key ``image/<camera>``)."""
    sets = [{k.split("/", 1)[1] for k in e.keys() if k.startswith("image/")} for e in episodes]
    return sorted(set.intersection(*sets)) if sets else []


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
