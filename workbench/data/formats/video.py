"""H.264 MP4 files written frame by frame through PyAV (it bundles FFmpeg's encoder, so no
system ffmpeg is needed): LeRobot datasets' camera streams and films of a policy's episodes.

Frames arrive one at a time and are encoded as they come, so a long film never sits in memory.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np


class VideoWriter:
    """An H.264 MP4 of RGB frames (``uint8``, height x width x 3), all of one size.

    ``pix_fmt="yuv420p"`` (the default) is what every player and browser plays; it needs an
    even width and height. ``"yuv444p"`` keeps full colour resolution, for small images a
    model reads (LeRobot's camera streams).

    Example:
        >>> with VideoWriter("policy.mp4", fps=25) as video:
        ...     video.add(env.render())
    """

    def __init__(self, path: str | Path, fps: float, pix_fmt: str = "yuv420p", crf: int = 23,
                 preset: str = "medium"):
        self.path = Path(path)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.pix_fmt, self.crf, self.preset = pix_fmt, crf, preset
        self.frames = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self.path), "w")
        self._closed = False
        self._stream: av.VideoStream | None = None

    def add(self, frame: np.ndarray) -> None:
        if self._closed:
            raise ValueError(f"{self.path.name} is closed: no frame can be added")
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"a video frame is height x width x 3 uint8 RGB, not "
                             f"{frame.shape} {frame.dtype}")
        if self._stream is None:
            self._stream = self._open_stream(frame.shape[1], frame.shape[0])
        elif (frame.shape[1], frame.shape[0]) != (self._stream.width, self._stream.height):
            raise ValueError(f"every frame of {self.path.name} is {self._stream.width}x"
                             f"{self._stream.height}; this one is {frame.shape[1]}x"
                             f"{frame.shape[0]}")
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            self._container.mux(packet)
        self.frames += 1

    def _open_stream(self, width: int, height: int) -> av.VideoStream:
        if self.pix_fmt == "yuv420p" and (width % 2 or height % 2):
            raise ValueError(f"{self.path.name}: yuv420p needs an even width and height, not "
                             f"{width}x{height}")
        stream = self._container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = self.pix_fmt
        stream.options = {"crf": str(self.crf), "preset": self.preset}
        return stream

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._stream is not None:
                for packet in self._stream.encode():  # flush the encoder's delayed frames
                    self._container.mux(packet)
        finally:
            self._container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def read_video(path: str | Path) -> np.ndarray:
    """Every frame of a video file as RGB (frames x height x width x 3)."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
