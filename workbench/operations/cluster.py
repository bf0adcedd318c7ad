"""A workspace request performed as one task on a Ray cluster (a reward fit on the lab's GPU
node while the laptop keeps the app), its progress forwarded to the front end here.

The task opens the workspace by its path, as a sweep's trials do, so every node must see it
there (a shared file system; asked of each node first); what it makes is written into the
workspace as if it had run here. Ray carries the request and its result between processes;
nothing is read back from a file but the workspace itself.
"""

from __future__ import annotations

from typing import Any

from workbench.operations.base import Progress, Result, WorkspaceRequest
from workbench.rl.ray_rollouts import check_workspace_visible, connect


class _Forwarded(Progress):
    """The task's side: events go into a Ray queue the caller drains."""

    def __init__(self, events: Any):
        self.events = events

    def emit(self, kind: str, **data: Any) -> None:
        self.events.put((kind, data))


def _perform(request: WorkspaceRequest, events: Any) -> Result:
    return request.perform(_Forwarded(events))


def perform_on_cluster(request: WorkspaceRequest, address: str, progress: Progress,
                       wants_gpu: bool = False) -> Result:
    """Run ``request`` (its workspace an absolute path) as a task on the cluster at
    ``address``, on a GPU node where ``wants_gpu`` and the cluster has one. Stopping cancels
    the task (nothing is stored then); a failure in it is raised here as its own exception."""
    ray = connect(address)
    from ray.util.queue import Queue

    check_workspace_visible(ray, request.workspace, "the task writes what it makes into it")
    gpus = 1 if wants_gpu and ray.cluster_resources().get("GPU", 0) >= 1 else 0
    events = Queue(actor_options={"num_cpus": 0})
    task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(_perform).remote(request,
                                                                                events)
    progress.emit("message", text=f"running on the cluster at {address}"
                  + (" (a GPU node)" if gpus else ""))
    try:
        while not ray.wait([task], timeout=0.25)[0]:
            _forward(events, progress)
            if progress.should_stop():
                ray.cancel(task, force=True)
                return {"cancelled": f"stopped; the task on the cluster at {address} was ended"}
        _forward(events, progress)
        try:
            return dict(ray.get(task))
        except ray.exceptions.RayTaskError as error:  # the task's own exception, one line
            raise error.cause if isinstance(error.cause, Exception) else error from None
    finally:
        events.shutdown()


def _forward(events: Any, progress: Progress) -> None:
    while not events.empty():
        kind, data = events.get_nowait()
        progress.emit(kind, **data)
