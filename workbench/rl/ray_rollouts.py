"""PPO's environments on a Ray cluster: a vector env whose sub-envs live in Ray actors.

The learner keeps the policy and runs it once per step on the whole batch of observations;
each :class:`RolloutWorker` actor steps a ``SyncVectorEnv`` of several envs (SAME_STEP autoreset,
as locally) and returns their observations, rewards and infos. A learned reward wraps this
vector env on the learner as it wraps a local one, so it scores the batch where the GPU is.

Workers take the worker nodes' CPUs first and the head's (where the learner and Ray's own
services run) last, by soft node affinity. A worker that dies (its node lost, its process
killed) surfaces as :class:`RolloutWorkerLost`; the training run resumes from its last
checkpoint on fresh workers elsewhere (``workbench.rl.run``). The actors hand their envs' exact
state to checkpoints, so a resumed run continues where the checkpoint left it, and each actor's
envs are seeded as their slice of a local vector env, so a run learns on the cluster exactly
what it learns in one process.

Ray is optional: importing this module does not import it.
"""

from __future__ import annotations

import contextlib
import socket
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from workbench.config import ConfigError


class RolloutWorkerLost(RuntimeError):
    """A rollout worker (or its node) died mid-run; ``nodes``: where the lost ones ran."""

    def __init__(self, message: str, nodes: frozenset[str] = frozenset()):
        super().__init__(message)
        self.nodes = nodes


def connect(address: str) -> Any:
    """Join the Ray cluster at ``address`` ("auto": a local instance, started if none runs;
    "ray://host:port" or "host:port"), once per process; returns the ``ray`` module."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("cluster: Ray is not installed; pip install "
                           "'robot-reward-workbench[ray]'") from None
    if not ray.is_initialized():
        if address == "auto":  # the one already running here, else a new local instance
            try:
                ray.init(address="auto", log_to_driver=False)
            except ConnectionError:
                ray.init(log_to_driver=False)
        else:
            # A Ray Client's server process for this client can fail to start on the head
            # now and then ("Starting Ray client server failed"): asked once more.
            attempts = 2 if address.startswith("ray://") else 1
            for attempt in range(attempts):
                with warnings.catch_warnings():  # Ray's own warning repeats the error below
                    warnings.simplefilter("ignore", UserWarning)
                    try:
                        ray.init(address=address, log_to_driver=False)
                        break
                    except ConnectionError as error:
                        if attempt + 1 < attempts:
                            time.sleep(2.0)
                            continue
                        raise RuntimeError(
                            f"cluster: no Ray cluster answered at {address} ({error}); start "
                            "one with `ray start --head` there, or use --cluster auto") from None
    return ray


def check_reachable(address: str) -> None:
    """Refuse in seconds an ``address`` where nothing listens ("auto" and "" pass): Ray itself
    retries a head's address for minutes before it gives up. Needs no Ray; the requests that
    use a cluster (train, sweep, train-reward) call it before they write anything."""
    if address in ("", "auto"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"cluster: {address!r} is not an address; give auto, host:port or "
                           "ray://host:port")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise ConfigError(f"cluster: nothing answers at {address} ({error.strerror or error}); "
                           "start a head there with `ray start --head`, or use --cluster auto"
                           ) from None


def described(ray: Any, address: str) -> str:
    """"the cluster at 10.0.0.2:6379 (2 nodes, 8 CPUs, 1 GPU)": where a job's tasks run, for
    the message that says so ("auto" named by the head it found or started)."""
    if address == "auto":
        with contextlib.suppress(Exception):  # a client connection may not say
            address = ray.get_runtime_context().gcs_address
    alive = sum(1 for node in ray.nodes() if node.get("Alive"))
    resources = ray.cluster_resources()
    parts = [f"{alive} node{'s' * (alive != 1)}", f"{resources.get('CPU', 0):g} CPUs"]
    if resources.get("GPU"):
        parts.append(f"{resources['GPU']:g} GPU")
    return f"the cluster at {address} ({', '.join(parts)})"


def on_this_node(ray: Any) -> Any:
    """A scheduling strategy that pins an actor to the node of the process asking (under Ray
    Client, the head): what the sweep or job keeps there is not lost with a worker node."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)


def nodes_without(ray: Any, workspace: Path, timeout: float = 60.0) -> list[str]:
    """The nodes (address and id) that do not see ``workspace`` at its path here; each
    answers for itself, in a task pinned to it."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote(num_cpus=0)
    def sees(path: str) -> bool:
        return (Path(path) / "workspace.json").is_file()

    nodes = [node for node in ray.nodes() if node.get("Alive")
             and node.get("Resources", {}).get("CPU", 0) > 0]
    refs = [sees.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
        node["NodeID"], soft=False)).remote(str(workspace.resolve())) for node in nodes]
    try:
        seen = ray.get(refs, timeout=timeout)
    except ray.exceptions.GetTimeoutError:
        raise RuntimeError(f"cluster: a node did not answer within {timeout:g} s whether it "
                           f"sees the workspace {workspace}") from None
    return [f"{node.get('NodeManagerAddress', '?')} (node {node['NodeID'][:8]})"
            for node, ok in zip(nodes, seen, strict=True) if not ok]


def _worker_class(ray: Any) -> Any:
    @ray.remote(max_restarts=0)
    class RolloutWorker:
        """Several envs stepped together on one CPU of a node."""

        def __init__(self, make: Callable[[], gym.Env], num_envs: int):
            self.envs = gym.vector.SyncVectorEnv(
                [make] * num_envs, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)

        def reset(self, seed: int | None) -> tuple[np.ndarray, dict[str, Any]]:
            return self.envs.reset(seed=seed)

        def step(self, actions: np.ndarray) -> tuple[Any, ...]:
            return self.envs.step(actions)

        def set_attr(self, name: str, values: list[Any]) -> None:
            self.envs.set_attr(name, values)

        def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
                 ) -> tuple[Any, ...]:
            return tuple(self.envs.call(name, *args, **kwargs))

        def get_state(self) -> dict[str, Any]:
            from workbench.rl.checkpoint import env_state

            return env_state(self.envs)

        def set_state(self, state: dict[str, Any]) -> None:
            import copy

            from workbench.rl.checkpoint import restore_env_state

            # Arrays out of Ray's object store are read-only; the envs write into theirs.
            restore_env_state(self.envs, copy.deepcopy(state))

        def node(self) -> str:
            return str(ray.get_runtime_context().get_node_id())

        def close(self) -> None:
            self.envs.close()

    return RolloutWorker


def _is_head(node: dict[str, Any]) -> bool:
    return any(key.startswith("node:__internal_head__") for key in node.get("Resources", {}))


def _placements(ray: Any, count: int, avoid: frozenset[str], cpus: float) -> list[Any]:
    """One CPU slot per worker: the worker nodes' CPUs first, then the head's, away from nodes
    that lost a worker (Ray may list a dead node as alive for a while). Soft affinity, so a
    busy slot still schedules; None past the slots (Ray queues those)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    alive = [node for node in ray.nodes() if node.get("Alive") and node["NodeID"] not in avoid]
    alive.sort(key=_is_head)  # worker nodes first
    slots = [node["NodeID"] for node in alive
             for _ in range(int(node.get("Resources", {}).get("CPU", 0) // cpus))]
    return [NodeAffinitySchedulingStrategy(slots[i], soft=True) if i < len(slots) else None
            for i in range(count)]


class RayVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` copies of ``make()`` spread over ``actors`` Ray actors."""

    def __init__(self, make: Callable[[], gym.Env], num_envs: int, actors: int, address: str,
                 avoid: frozenset[str] = frozenset(), cpus: float = 1.0):
        if not 1 <= actors <= num_envs:
            raise ValueError(f"rollout_actors must be in [1, num_envs={num_envs}], got {actors}")
        self.ray = connect(address)
        total = self.ray.cluster_resources().get("CPU", 0.0)
        if actors * cpus > total:  # Ray would queue the rest for ever
            raise ValueError(f"rollout_actors: {actors} actors of {cpus:g} CPU need "
                             f"{actors * cpus:g} CPUs; the cluster at {address} has {total:g}")
        probe = make()
        self.single_observation_space = probe.observation_space
        self.single_action_space = probe.action_space
        self.metadata = dict(probe.metadata, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
        probe.close()
        self.num_envs = num_envs
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space,
                                                              num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.sizes = [num_envs // actors + (i < num_envs % actors) for i in range(actors)]
        self.bounds = np.cumsum([0, *self.sizes])
        worker = _worker_class(self.ray)
        self.workers = [
            worker.options(num_cpus=cpus, **({"scheduling_strategy": place} if place else {}))
            .remote(make, size)
            for place, size in zip(_placements(self.ray, actors, avoid, cpus), self.sizes,
                                   strict=True)]
        self._nodes: list[str] = []
        self._nodes = [str(n) for n in self._gather([w.node.remote() for w in self.workers])]
        self._pending: list[Any] = []  # set_attr calls not yet waited for

    def placement(self) -> list[dict[str, Any]]:
        """Where each worker runs: its node and whether that is the head."""
        head = {node["NodeID"] for node in self.ray.nodes() if _is_head(node)}
        return [{"node": node, "head": node in head} for node in self._nodes]

    def _gather(self, refs: list[Any]) -> list[Any]:
        """One result per worker, in order; a lost worker is a :class:`RolloutWorkerLost`."""
        lost = (self.ray.exceptions.RayActorError, self.ray.exceptions.NodeDiedError,
                self.ray.exceptions.WorkerCrashedError)
        try:
            return list(self.ray.get(refs))
        except lost as exc:
            failed = set()
            for i, ref in enumerate(refs):
                try:
                    self.ray.get(ref)
                except lost:
                    failed.add(self._nodes[i] if i < len(self._nodes) else "")
            raise RolloutWorkerLost(f"a rollout worker was lost: {type(exc).__name__}",
                                    frozenset(failed - {""})) from None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        seeds = [None if seed is None else seed + int(lo) for lo in self.bounds[:-1]]
        parts = self._gather([w.reset.remote(s) for w, s in zip(self.workers, seeds,
                                                                  strict=True)])
        return (np.concatenate([p[0] for p in parts]),
                merge_infos([p[1] for p in parts], self.sizes))

    def step(self, actions: np.ndarray) -> tuple[Any, ...]:
        refs = [w.step.remote(actions[lo:hi]) for w, lo, hi
                in zip(self.workers, self.bounds[:-1], self.bounds[1:], strict=True)]
        parts = self._gather_after_pending(refs)
        obs, rewards, terminated, truncated = (np.concatenate([p[k] for p in parts])
                                               for k in range(4))
        return obs, rewards, terminated, truncated, merge_infos([p[4] for p in parts],
                                                                self.sizes)

    def set_attr(self, name: str, values: Any) -> None:
        """Set an attribute of every sub-env, as SyncVectorEnv's: one value for all, or a list
        of one per env. Not waited for: an actor runs its caller's calls in order, so the next
        step sees it, and that step's wait reports a failure (no extra round trip a step,
        which the distilled frame reward's per-step render flags would cost)."""
        if not isinstance(values, list | tuple):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ValueError(f"set_attr {name!r}: {len(values)} values for {self.num_envs} envs")
        self._pending += [w.set_attr.remote(name, list(values[lo:hi])) for w, lo, hi
                          in zip(self.workers, self.bounds[:-1], self.bounds[1:], strict=True)]

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Each sub-env's method ``name`` called (or attribute read), in env order, as
        SyncVectorEnv's."""
        parts = self._gather_after_pending([w.call.remote(name, args, kwargs)
                                            for w in self.workers])
        return tuple(result for part in parts for result in part)

    def _gather_after_pending(self, refs: list[Any]) -> list[Any]:
        """``refs``' results, also waiting for the set_attr calls sent before them (so that a
        failed one is reported here)."""
        pending, self._pending = self._pending, []
        return self._gather(refs + pending)[:len(refs)]

    # exact checkpoints (workbench.rl.checkpoint): each actor's SyncVectorEnv state
    def get_state(self) -> list[dict[str, Any]]:
        return self._gather([w.get_state.remote() for w in self.workers])

    def set_state(self, states: list[dict[str, Any]]) -> None:
        if len(states) != len(self.workers):
            raise ValueError(f"the checkpoint holds {len(states)} rollout workers' envs; this "
                             f"run has {len(self.workers)}")
        self._gather([w.set_state.remote(s) for w, s in zip(self.workers, states, strict=True)])

    def close_extras(self, **kwargs: Any) -> None:
        for worker in self.workers:
            try:
                self.ray.get(worker.close.remote(), timeout=10)
            except Exception:  # a lost worker has nothing left to close
                pass
            self.ray.kill(worker)


def merge_infos(infos: list[dict[str, Any]], sizes: list[int]) -> dict[str, Any]:
    """Concatenate gymnasium vector infos (arrays with ``_key`` masks, nested dicts) of
    consecutive sub-env blocks, as one vector env of all of them would return them."""
    keys = {k for info in infos for k in info if not k.startswith("_")}
    merged: dict[str, Any] = {}
    for key in keys:
        if all(isinstance(info.get(key), dict) or key not in info for info in infos):
            merged[key] = merge_infos([info.get(key, {}) for info in infos], sizes)
            merged[f"_{key}"] = np.concatenate([
                info.get(f"_{key}", np.zeros(n, bool)) for info, n in zip(infos, sizes,
                                                                           strict=True)])
            continue
        parts = []
        for info, n in zip(infos, sizes, strict=True):
            if key in info:
                parts.append(np.asarray(info[key]))
            else:
                sample = next(np.asarray(i[key]) for i in infos if key in i)
                parts.append(np.full(n, None, object) if sample.dtype == object
                             else np.zeros((n, *sample.shape[1:]), sample.dtype))
        merged[key] = np.concatenate(parts)
        merged[f"_{key}"] = np.concatenate([info.get(f"_{key}", np.zeros(n, bool))
                                            for info, n in zip(infos, sizes, strict=True)])
    return merged
