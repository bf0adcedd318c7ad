"""Editing the workspace's episodes without losing any: trimming, and importing human videos.

Both write *new* episodes and leave the originals untouched, so a wrong trim is undone by
deleting its result.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from workbench.data.workspace import Workspace

VIDEO_CAMERA = "video"


def trim_episode(workspace: Workspace, episode_id: int, start: int, end: int) -> int:
    """Copy frames ``[start, end)`` of an episode into a new one and return its id.

    The new episode's initial state is the state after frame ``start - 1`` (or the original
    initial state when ``start`` is 0), so replaying its actions from it stays exact.
    """
    episode = workspace.load_episode(episode_id)
    n = len(episode)
    if not 0 <= start < end <= n:
        raise ValueError(f"cannot trim episode {episode_id} to [{start}, {end}): it has {n} "
                         f"frames, so 0 <= start < end <= {n}")
    meta = dict(episode.meta["meta"])
    meta["trimmed_from"] = {"episode": episode_id, "start": start, "end": end}
    writer = workspace.new_episode(scene=episode.meta["scene"], source=episode.meta["source"],
                                   seed=episode.meta["seed"], goal=episode.meta.get("goal"),
                                   meta=meta)
    keys = episode.keys()
    if start == 0:
        writer.set_initial(**episode.initial())
    else:
        initial_keys = set(episode.initial())  # what the original stored before its first action
        writer.set_initial(**{k: episode[k][start - 1] for k in keys if k in initial_keys})
    for t in range(start, end):
        writer.add_frame(**{k: episode[k][t] for k in keys})
    success = episode.get("success")
    final = bool(success[end - 1]) if success is not None else None
    reached = bool(success[start:end].any()) if success is not None else None
    return writer.save(success=final, reached_success=reached)


def import_video(workspace: Workspace, path: str | Path, scene: str, goal: str,
                 size: int | None = 84, max_frames: int | None = None) -> int:
    """Import an MP4 (any format OpenCV reads) as an action-free episode with its goal text.

    Frames are stored as ``image/video`` (RGB, resized to ``size`` x ``size`` unless None); the
    episode has no actions or simulator state, and is marked ``action_free`` for the reward
    learners that use videos (perceptual progress from human demonstrations).
    """
    import cv2  # opencv-python-headless: a declared dependency

    from workbench.registry import SCENES

    path = Path(path)
    if scene not in SCENES.names():
        raise ValueError(f"unknown scene {scene!r}; known scenes: {', '.join(SCENES.names())}")
    if size is not None and not 8 <= size <= 1024:
        raise ValueError(f"size must be from 8 to 1024 pixels (or None to keep the video's), "
                         f"got {size}")
    if not path.is_file():
        raise FileNotFoundError(f"no video at {path}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"OpenCV cannot read {path}: is it a video file (MP4, AVI, MOV)?")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0

    def frames() -> Iterator[np.ndarray]:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            yield rgb if size is None else cv2.resize(rgb, (size, size),
                                                      interpolation=cv2.INTER_AREA)

    limit = max_frames if max_frames is not None else float("inf")
    stream = frames()
    try:
        # Two readable frames before anything is written: a broken file leaves no trace.
        first = [frame for _, frame in zip(range(int(min(2, limit))), stream, strict=False)]
        if len(first) < 2:
            raise ValueError(f"{path} has {len(first)} readable frame(s); a demonstration "
                             "needs at least 2")
        writer = workspace.new_episode(scene=scene, source="video", goal=goal, meta={
            "action_free": True, "video": path.name, "fps": fps,
            "image_cameras": [VIDEO_CAMERA]})
        try:
            writer.set_initial(**{f"image/{VIDEO_CAMERA}": first[0]})
            writer.add_frame(**{f"image/{VIDEO_CAMERA}": first[1]})
            count = 2
            for rgb in stream:
                if count >= limit:
                    break
                writer.add_frame(**{f"image/{VIDEO_CAMERA}": rgb})
                count += 1
        except BaseException:
            writer.discard()  # nothing half-imported stays behind
            raise
    finally:
        capture.release()
    return writer.save()


def video_frames(workspace: Workspace, episode_id: int) -> np.ndarray:
    """All frames of an imported video, the first included: (T, H, W, 3) uint8."""
    episode = workspace.load_episode(episode_id)
    key = f"image/{VIDEO_CAMERA}"
    return np.concatenate([episode.initial()[key][None], episode[key]])
