"""robomimic HDF5: ``data/demo_<i>/{actions, rewards, dones, states, obs/*, next_obs/*}``.

``states`` are the simulator states before each action (exact replay, as robomimic expects);
``obs/state`` and ``next_obs/state`` the flat observation vectors; camera images go under
``obs/<camera>_image`` (uint8, lossless). Goals, preferences and workbench metadata travel in
``<file>.workbench.json`` beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from workbench.data.formats.common import cameras_of, frames_from_rows, load_episodes, rows_of
from workbench.data.formats.sidecar import (
    build_sidecar,
    read_sidecar,
    restore_labels,
    write_episode,
    write_sidecar,
)
from workbench.data.workspace import Workspace


def _camera_key(camera: str) -> str:
    return camera.replace("/", "_") + "_image"


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".workbench.json")


def export_robomimic(
    workspace: Workspace, path: str | Path, episode_ids: list[int] | None = None,
    scene: str | None = None,
) -> Path:
    path = Path(path)
    episodes = load_episodes(workspace, episode_ids, scene)
    cameras = cameras_of(episodes)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        total = 0
        for i, episode in enumerate(episodes):
            rows = rows_of(episode)
            demo = data.create_group(f"demo_{i}")
            length = len(rows["action"])
            demo.attrs["num_samples"] = length
            demo.create_dataset("actions", data=rows["action"])
            demo.create_dataset("rewards", data=rows["next.reward"])
            dones = np.zeros(length, np.int64)
            dones[-1] = 1
            demo.create_dataset("dones", data=dones)
            demo.create_dataset("states", data=rows["observation.sim_state"])
            demo.create_dataset("next_states", data=rows["next.observation.sim_state"])
            demo.create_dataset("success", data=rows["next.success"])
            demo.create_dataset("progress", data=rows["next.progress"])
            demo.create_dataset("obs/state", data=rows["observation.state"])
            demo.create_dataset("next_obs/state", data=rows["next.observation.state"])
            for camera in cameras:
                images = episode[f"image/{camera}"]
                first = episode.initial().get(f"image/{camera}", images[0])
                demo.create_dataset(f"obs/{_camera_key(camera)}",
                                    data=np.concatenate([first[None], images[:-1]]),
                                    compression="gzip")
                demo.create_dataset(f"next_obs/{_camera_key(camera)}", data=images,
                                    compression="gzip")
            total += length
        data.attrs["total"] = total
        meta = episodes[0].meta
        data.attrs["env_args"] = json.dumps({
            "env_name": meta["scene"],
            "type": "workbench",
            "env_kwargs": {"control_mode": meta["meta"].get("control_mode")},
            "cameras": cameras,
        })
        mask = f.create_group("mask")
        mask.create_dataset("train", data=np.array([f"demo_{i}" for i in range(len(episodes))],
                                                   dtype="S"))
    write_sidecar(sidecar_path(path), build_sidecar(workspace, episodes))
    return path


def import_robomimic(workspace: Workspace, path: str | Path) -> list[int]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no robomimic file at {path}")
    sidecar = read_sidecar(sidecar_path(path))
    ids = []
    with h5py.File(path, "r") as f:
        if "data" not in f:
            raise ValueError(f"{path} has no 'data' group: not a robomimic file")
        env_args = json.loads(f["data"].attrs["env_args"])
        cameras = env_args.get("cameras", [])
        names = sorted(f["data"], key=lambda name: int(name.split("_")[1]))
        for i, name in enumerate(names):
            demo = f["data"][name]
            rows = {
                "action": demo["actions"][()],
                "observation.state": demo["obs/state"][()],
                "observation.sim_state": demo["states"][()],
                "next.observation.state": demo["next_obs/state"][()],
                "next.observation.sim_state": demo["next_states"][()],
                "next.reward": demo["rewards"][()],
                "next.success": demo["success"][()],
                "next.progress": demo["progress"][()],
            }
            frames, initial = frames_from_rows(rows)
            for camera in cameras:
                frames[f"image/{camera}"] = demo[f"next_obs/{_camera_key(camera)}"][()]
                initial[f"image/{camera}"] = demo[f"obs/{_camera_key(camera)}"][0]
            ids.append(write_episode(workspace, sidecar["episodes"][i], frames, initial))
    restore_labels(workspace, sidecar, ids)
    return ids
