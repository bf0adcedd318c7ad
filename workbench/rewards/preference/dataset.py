"""Preference labels stored in a Workspace, as training queries."""

from __future__ import annotations

from workbench.data.segments import SegmentCache
from workbench.data.workspace import Workspace
from workbench.rewards.preference.fit import LabelledQuery


def queries_from_workspace(
    workspace: Workspace, teacher: str | None = None, scene_ids: set[int] | None = None,
    cache: SegmentCache | None = None,
) -> list[LabelledQuery]:
    """Stored pair and ranking labels as training queries (optionally one teacher's, or only
    those whose segments all come from ``scene_ids``); a ``cache`` kept between calls reads
    each episode once."""
    cache = cache or SegmentCache(workspace)
    queries = []
    for pref in workspace.preferences():
        if teacher is not None and pref.teacher != teacher:
            continue
        if scene_ids is not None and not all(s[0] in scene_ids for s in pref.segments):
            continue
        if pref.kind not in ("pair", "ranking"):
            continue
        states = tuple(cache.states(s) for s in pref.segments)
        queries.append(LabelledQuery(states, pref.answer, pref.kind))
    return queries
