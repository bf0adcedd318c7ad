"""What standard formats cannot hold, in one JSON file: goals, preferences (segments refer to
dataset episode indices) and each episode's workbench metadata and initial state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from workbench.data.episode import Episode
from workbench.data.workspace import Workspace

SIDECAR_FORMAT = "workbench-sidecar"


def build_sidecar(workspace: Workspace, episodes: list[Episode]) -> dict[str, Any]:
    index_of = {e.id: i for i, e in enumerate(episodes)}
    preferences = [
        {
            "kind": p.kind,
            "segments": [[index_of[s[0]], s[1], s[2]] for s in p.segments],
            "answer": p.answer,
            "rating": p.rating,
            "teacher": p.teacher,
        }
        for p in workspace.preferences()
        if all(s[0] in index_of for s in p.segments)
    ]
    scenes = {e.meta["scene"] for e in episodes}
    goals = [
        {"text": g["text"], "scene": g["scene"], "baseline": g["baseline"]}
        for g in workspace.goals()
        if g["scene"] in scenes or g["scene"] is None
    ]
    return {
        "format": SIDECAR_FORMAT,
        "version": 1,
        "episodes": [
            {
                "scene": e.meta["scene"],
                "source": e.meta["source"],
                "seed": e.meta["seed"],
                "goal": e.meta["goal"],
                "success": e.meta["success"],
                "meta": e.meta["meta"],
            }
            for e in episodes
        ],
        "goals": goals,
        "preferences": preferences,
    }


def write_sidecar(path: Path, sidecar: dict[str, Any]) -> Path:
    path.write_text(json.dumps(sidecar, indent=1))
    return path


def restore_labels(workspace: Workspace, sidecar: dict[str, Any], new_ids: list[int]) -> None:
    """Re-create goals and preferences, pointing at the newly imported episode ids."""
    for goal in sidecar.get("goals", []):
        workspace.add_goal(goal["text"], goal["scene"], goal["baseline"])
    for pref in sidecar.get("preferences", []):
        segments = [(new_ids[i], start, end) for i, start, end in pref["segments"]]
        workspace.add_preference(segments, pref["answer"], pref["kind"], pref["teacher"],
                                 pref["rating"])


def write_episode(
    workspace: Workspace,
    info: dict[str, Any],
    frames: dict[str, np.ndarray],
    initial: dict[str, np.ndarray],
) -> int:
    """Store one imported episode: ``frames`` keyed as the recorder keys them."""
    writer = workspace.new_episode(info["scene"], info["source"], info.get("seed"),
                                   info.get("goal"), info.get("meta"))
    writer.set_initial(**initial)
    length = len(frames["action"])
    for t in range(length):
        writer.add_frame(**{key: value[t] for key, value in frames.items()})
    return writer.save(success=info.get("success"))
