"""A workspace request performed as one task on a Ray cluster (a reward fit on the lab's GPU
node while the laptop keeps the app), its progress forwarded to the front end here.

Where every node sees the workspace at its path (a shared file system; each node is asked),
the task opens it there and writes what it makes into it, as if it had run here. Where some
node does not, the scene's recordings travel with the task (an archive in Ray's object store)
into a scratch workspace on the node, and the models the task makes come back the same way,
indexed here under new names. Either way Ray carries the request, the archives and the result
between processes; nothing is unpickled from a file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from workbench.data.transfer import (
    index_made,
    pack_folder,
    pack_recordings,
    scratch_copy,
    unpack,
)
from workbench.data.workspace import Workspace
from workbench.operations.base import Progress, Result, WorkspaceRequest
from workbench.rl.ray_rollouts import connect, described, nodes_without, on_this_node


class _Forwarded(Progress):
    """The task's side: events go into a Ray queue the caller drains."""

    def __init__(self, events: Any):
        self.events = events

    def emit(self, kind: str, **data: Any) -> None:
        self.events.put((kind, data))


# Ray runs a task again where its node or worker process died (never on its own exception):
# a fit stores nothing until its end, so starting it over elsewhere is safe.
NODE_LOSSES = 3


def _started(events: Any) -> None:
    import ray

    events.put(("started", {"node": ray.get_runtime_context().get_node_id()}))


def _perform(request: WorkspaceRequest, events: Any) -> Result:
    _started(events)
    return request.perform(_Forwarded(events))


def _perform_shipped(request: WorkspaceRequest, recordings: bytes, events: Any
                     ) -> tuple[Result, list[dict[str, Any]], str]:
    """On a node without the workspace: perform in a scratch copy of the recordings; the
    result, each model made (its index row and its folder packed) and the scratch root."""
    _started(events)
    with scratch_copy("task") as scratch:
        root = Path(scratch).resolve()
        unpack(recordings, root)  # indexes no model: every one there after is the task's
        result = replace(request, workspace=root).perform(_Forwarded(events))
        with Workspace.open(root) as ws:
            made = [{**model, "archive": pack_folder(Path(model["path"]))}
                    for model in ws.models()]
    return result, made, str(root)


def perform_on_cluster(request: WorkspaceRequest, ws: Workspace, scene: str, address: str,
                       progress: Progress, wants_gpu: bool = False) -> Result:
    """Run ``request`` (on the open workspace ``ws``, reading the recordings of ``scene``) as
    a task on the cluster at ``address``, on a GPU node where ``wants_gpu`` and the cluster
    has one. Stopping cancels the task (nothing is stored then); a failure in it is raised
    here as its own exception."""
    ray = connect(address)
    from ray.util.queue import Queue

    request = replace(request, workspace=ws.root.resolve())
    shipped = bool(nodes_without(ray, ws.root))
    gpus = 1 if wants_gpu and ray.cluster_resources().get("GPU", 0) >= 1 else 0
    # The queue lives on this node, so that losing a worker node does not lose it with it.
    events = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": on_this_node(ray)})
    options = {"num_cpus": 1, "num_gpus": gpus, "max_retries": NODE_LOSSES}
    where = " (a GPU node)" if gpus else ""
    if shipped:
        recordings = pack_recordings(ws, scene)
        task = ray.remote(**options)(_perform_shipped).remote(request, ray.put(recordings),
                                                              events)
        where += (f"; not every node sees the workspace, so {scene}'s recordings "
                  f"({len(recordings) / 1e6:.1f} MB) travel with the task")
    else:
        task = ray.remote(**options)(_perform).remote(request, events)
    progress.emit("message", text=f"running on {described(ray, address)}{where}")
    nodes: list[str] = []  # where the task started, in order
    try:
        while not ray.wait([task], timeout=0.25)[0]:
            _forward(events, progress, nodes)
            if progress.should_stop():
                ray.cancel(task, force=True)
                return {"cancelled": f"stopped; the task on the cluster at {address} was ended"}
        _forward(events, progress, nodes)
        try:
            outcome = ray.get(task)
        except ray.exceptions.RayTaskError as error:  # the task's own exception, one line
            raise error.cause if isinstance(error.cause, Exception) else error from None
    finally:
        events.shutdown()
    return _bring_back(ws, *outcome) if shipped else dict(outcome)


def _bring_back(ws: Workspace, result: Result, made: list[dict[str, Any]], remote_root: str
                ) -> Result:
    """Index each model the task made in ``ws`` (a new folder here) and point the result's
    paths and ids at the copies."""
    result = dict(result)
    for model in made:
        path, model_id = index_made(ws, model, model["archive"])
        if result.get("path") == model["path"]:
            result.update(path=str(path), model_id=model_id)
    return {key: value.replace(remote_root, str(ws.root)) if isinstance(value, str) else value
            for key, value in result.items()}


def _forward(events: Any, progress: Progress, nodes: list[str]) -> None:
    """Pass the task's events on (what has queued, in one call to the queue's actor: one a
    call falls behind a fit's epochs); say so where it started again on another node."""
    waiting = events.qsize()
    for kind, data in events.get_nowait_batch(waiting) if waiting else ():
        if kind != "started":
            progress.emit(kind, **data)
            continue
        if nodes:
            progress.emit("message", text=f"the node running the task ({nodes[-1][:8]}) was "
                          f"lost; Ray started it again on node {data['node'][:8]}")
        nodes.append(data["node"])
