"""Which process of which machine owns something that lives on after it: a run row marked
running, a scratch copy in the temp folder. Recovery and clean-up read them to tell a live
owner from a killed one (a process of another machine is neither: it is left alone)."""

from __future__ import annotations

import os
import socket
from typing import Any


def running_here() -> dict[str, Any]:
    """What a run row records while it runs: the process, so recovery can tell it died."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _process_here(metrics: dict[str, Any]) -> bool | None:
    """Whether the process a run recorded (``running_here``) still exists; None when the run
    is another machine's, or from before runs recorded their process."""
    if metrics.get("host") != socket.gethostname() or not isinstance(metrics.get("pid"), int):
        return None
    try:
        os.kill(metrics["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def alive_here(metrics: dict[str, Any]) -> bool:
    """A run recorded as running by a process of this machine that still exists."""
    return _process_here(metrics) is True


def dead_here(metrics: dict[str, Any]) -> bool:
    """A run recorded as running by a process of this machine that no longer exists."""
    return _process_here(metrics) is False
