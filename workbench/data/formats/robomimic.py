"""robomimic HDF5: ``data/demo_<i>/{actions, rewards, dones, states, obs/*, next_obs/*}``.

``states`` are the simulator states before each action (exact replay, as robomimic expects);
``obs/flat`` and ``next_obs/flat`` the flat observation vectors (the key robomimic's gym
environments observe under, so its rollouts match; files written before used ``state``);
camera images go under ``obs/<camera>_image`` (uint8, lossless). Goals, preferences and
workbench metadata travel in ``<file>.workbench.json`` beside it. ``env_args`` names an
environment robomimic's ``train.py`` can build for its rollouts (``workbench.envs.robomimic_env``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from workbench.data.formats.common import frames_choice, frames_from_rows, load_episodes, rows_of
from workbench.data.formats.sidecar import build_sidecar, write_sidecar
from workbench.data.formats.staging import (
    DatasetError,
    StagedEpisode,
    check_episode,
    check_labels,
    read_optional_sidecar,
    reading_error,
    sidecar_episode,
    store,
)
from workbench.data.workspace import Workspace

_DEMO = re.compile(r"demo_\d{1,9}")


def _camera_key(camera: str) -> str:
    return camera.replace("/", "_") + "_image"


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".workbench.json")


def export_robomimic(
    workspace: Workspace, path: str | Path, episode_ids: list[int] | None = None,
    scene: str | None = None, without_frames: str = "refuse",
) -> Path:
    """Write the episodes as a robomimic HDF5 file; ``without_frames`` as for LeRobot
    (``common.frames_choice``)."""
    path = Path(path)
    episodes = load_episodes(workspace, episode_ids, scene)
    episodes, cameras = frames_choice(episodes, without_frames)
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
            demo.create_dataset("obs/flat", data=rows["observation.state"])
            demo.create_dataset("next_obs/flat", data=rows["next.observation.state"])
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
        # robomimic builds its rollout env from this: type 2 is its gym wrapper, and the
        # env id imports workbench.envs.robomimic_env first (see there).
        env_kwargs = {"control_mode": meta["meta"].get("control_mode"),
                      "difficulty": meta["meta"].get("difficulty", 0.0)}
        if meta["meta"].get("robot"):
            env_kwargs["robot"] = meta["meta"]["robot"]
        data.attrs["env_args"] = json.dumps({
            "env_name": f"workbench.envs.robomimic_env:workbench/{meta['scene']}-v0",
            "type": 2,
            "env_kwargs": env_kwargs,
            "scene": meta["scene"],
            "cameras": cameras,
        })
        mask = f.create_group("mask")
        mask.create_dataset("train", data=np.array([f"demo_{i}" for i in range(len(episodes))],
                                                   dtype="S"))
    write_sidecar(sidecar_path(path), build_sidecar(workspace, episodes))
    return path


def import_robomimic(workspace: Workspace, path: str | Path, scene: str | None = None
                     ) -> list[int]:
    """Import a robomimic file with the workbench's datasets (those ``export_robomimic``
    writes); its sidecar brings scenes, goals and preferences, or ``scene`` names the scene of
    every episode. All or nothing (see ``staging``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no robomimic file at {path}")
    sidecar = read_optional_sidecar(sidecar_path(path), scene)
    try:
        with h5py.File(path, "r") as f:
            staged = _read_robomimic(f, path, sidecar, scene)
    except DatasetError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, OSError, AttributeError) as exc:
        raise reading_error(f"{path} is not a readable robomimic file with the "
                            "workbench's datasets", exc) from None
    if sidecar is not None:
        check_labels(sidecar, staged, str(sidecar_path(path)))
    return store(workspace, staged, sidecar)


def _read_robomimic(f: h5py.File, path: Path, sidecar: dict[str, Any] | None, scene: str | None
                    ) -> list[StagedEpisode]:
    if "data" not in f:
        raise DatasetError(f"{path} has no 'data' group: not a robomimic file")
    env_args = json.loads(f["data"].attrs["env_args"])
    cameras = env_args.get("cameras", [])
    odd = [name for name in f["data"] if not _DEMO.fullmatch(name)]
    if odd:
        raise DatasetError(f"{path}: groups {odd[:5]} under 'data' are not demo_<number>")
    names = sorted(f["data"], key=lambda name: int(name.split("_")[1]))
    staged = []
    for i, name in enumerate(names):
        demo, where = f["data"][name], f"{path} {name}"
        flat = "flat" if "obs/flat" in demo else "state"  # earlier exports: obs/state
        rows = {
            "action": demo["actions"][()],
            "observation.state": demo[f"obs/{flat}"][()],
            "observation.sim_state": demo["states"][()],
            "next.observation.state": demo[f"next_obs/{flat}"][()],
            "next.observation.sim_state": demo["next_states"][()],
            "next.reward": demo["rewards"][()],
            "next.success": demo["success"][()],
            "next.progress": demo["progress"][()],
        }
        frames, initial = frames_from_rows(rows)
        for camera in cameras:
            frames[f"image/{camera}"] = demo[f"next_obs/{_camera_key(camera)}"][()]
            initial[f"image/{camera}"] = demo[f"obs/{_camera_key(camera)}"][0]
        info = sidecar_episode(sidecar, i, scene, "robomimic", where)
        staged.append(check_episode(StagedEpisode(info, frames, initial), where))
    return staged
