"""Reading films back as another tool does: OpenCV's decoder (its own FFmpeg build), not the
PyAV that wrote them; and how far a frame is from a render of the state it should show."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def film_frames(path: str | Path) -> tuple[list[np.ndarray], float]:
    """Every frame (RGB) and the frame rate the file declares."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"OpenCV cannot open {path}"
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames, fps


def changed(frame: np.ndarray, render: np.ndarray) -> float:
    """The share of pixels where a channel differs by more than a codec's loss."""
    return float((np.abs(frame.astype(np.float32) - render).max(axis=2) > 40).mean())
