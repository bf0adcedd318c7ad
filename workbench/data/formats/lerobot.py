"""LeRobot dataset v3.0: episodes packed into Parquet files, camera streams into MP4 files.

Layout (the path templates are written into ``meta/info.json``)::

    meta/info.json, meta/stats.json, meta/tasks.parquet, meta/workbench.json (the sidecar)
    meta/episodes/chunk-000/file-000.parquet
    data/chunk-000/file-000.parquet
    videos/observation.images.<camera>/chunk-000/file-000.mp4

Each data row is one step: ``observation.*`` before the action, ``action``, and ``next.*`` what
followed. Simulator states (``observation.sim_state``) are float64, so they round-trip exactly.
Each episode's stretch of a video holds its frames plus one terminal frame (the image after the
last action); ``from_timestamp``/``to_timestamp`` in the episode metadata bound the data frames.
Video is H.264 (PyAV, libx264, near-lossless CRF) and so reproduces images within the codec's
tolerance, not bit-exactly.

Given the takes' :class:`RobotJoints`, ``observation.state`` and ``action`` are the real
robot's joints instead (LeRobot's names and units, as ``lerobot-record`` writes them) and the
simulator states and the sidecar are left out: a dataset for LeRobot's policies, which the
workbench does not import back (its takes stay in the workspace).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.data.formats.common import (
    frames_choice,
    frames_from_rows,
    load_episodes,
    rows_of,
)
from workbench.data.formats.lerobot_joints import RobotJoints, holds_joints
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
from workbench.data.formats.video import VideoWriter, read_video
from workbench.data.workspace import Workspace

DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"
VECTOR_KEYS = ("observation.state", "observation.sim_state", "action",
               "next.observation.state", "next.observation.sim_state")
SCALAR_KEYS = ("next.reward", "next.success", "next.progress")
JOINT_KEYS = ("observation.state", "action")  # with RobotJoints: the real robot's columns


def _video_key(camera: str) -> str:
    return "observation.images." + camera.replace("/", "_")


def _write_video(path: Path, frames: np.ndarray, fps: int, crf: int) -> None:
    # no chroma subsampling: small images keep their colours
    with VideoWriter(path, fps, pix_fmt="yuv444p", crf=crf) as video:
        for frame in frames:
            video.add(frame)


def _tasks_table(tasks: dict[str, int]) -> pa.Table:
    """``meta/tasks.parquet`` as LeRobot writes it with pandas: the sentence is the frame's
    index (LeRobot looks a task up by index label), ``task_index`` its one column."""
    pandas = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode",
                            "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}],
        "columns": [{"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
                     "numpy_type": "int64", "metadata": None},
                    {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode",
                     "numpy_type": "object", "metadata": None}],
        "attributes": {}, "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }
    table = pa.table({"task_index": pa.array(list(tasks.values()), pa.int64()),
                      "__index_level_0__": pa.array(list(tasks), pa.string())})
    return table.replace_schema_metadata({b"pandas": json.dumps(pandas).encode()})


def _stats(values: np.ndarray) -> dict[str, list[Any]]:
    """LeRobot's per-feature statistics of (steps, ...) values over the first axis."""
    values = np.asarray(values, np.float64)
    return {"mean": values.mean(0).tolist(), "std": values.std(0).tolist(),
            "min": values.min(0).tolist(), "max": values.max(0).tolist(),
            "count": [len(values)]}


def _image_stats(frames: np.ndarray, most: int = 100) -> dict[str, list[Any]]:
    """Per-channel statistics of up to ``most`` evenly spaced frames, scaled to [0, 1] and
    shaped (3, 1, 1), as LeRobot computes them for camera features."""
    picked = frames[np.linspace(0, len(frames) - 1, min(most, len(frames))).astype(int)]
    pixels = picked.reshape(-1, picked.shape[-1]).astype(np.float64) / 255.0
    stats = _stats(pixels)
    return {k: (v if k == "count" else [[[x]] for x in v]) for k, v in stats.items()}


def _merge(parts: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """Statistics of the union of the parts (means and variances pooled by count)."""
    counts = np.array([p["count"][0] for p in parts], np.float64)
    means = np.array([p["mean"] for p in parts], np.float64)
    variances = np.array([p["std"] for p in parts], np.float64) ** 2
    weights = (counts / counts.sum()).reshape(-1, *[1] * (means.ndim - 1))
    mean = (weights * means).sum(0)
    variance = (weights * (variances + (means - mean) ** 2)).sum(0)
    return {"mean": mean.tolist(), "std": np.sqrt(variance).tolist(),
            "min": np.min([p["min"] for p in parts], 0).tolist(),
            "max": np.max([p["max"] for p in parts], 0).tolist(),
            "count": [int(counts.sum())]}


def _feature(array: np.ndarray, dtype: str) -> dict[str, Any]:
    return {"dtype": dtype, "shape": list(array.shape[1:]) or [1], "names": None}


def export_lerobot(
    workspace: Workspace, out: str | Path, episode_ids: list[int] | None = None,
    scene: str | None = None, crf: int = 10, without_frames: str = "refuse",
    joints: RobotJoints | None = None,
) -> Path:
    """Write the episodes as a LeRobot v3.0 dataset. When some episodes have camera frames
    and others do not, ``without_frames`` says what happens: ``refuse`` (the default: an
    error naming them), ``skip`` those episodes, or ``drop`` the cameras from every episode.
    ``joints`` (the episodes' joints, :mod:`workbench.export.robot_dataset`) writes them as
    the real robot's dataset."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose a new folder for the dataset")
    episodes = load_episodes(workspace, episode_ids, scene)
    episodes, cameras = frames_choice(episodes, without_frames)
    fps = int(round(1.0 / float(episodes[0].meta["meta"].get("control_dt", 0.04))))
    tasks: dict[str, int] = {}
    vector_keys = JOINT_KEYS if joints else VECTOR_KEYS
    columns: dict[str, list[Any]] = {k: [] for k in (*vector_keys, *SCALAR_KEYS)}
    columns.update({k: [] for k in ("next.done", "timestamp", "frame_index", "episode_index",
                                    "index", "task_index")})
    episode_rows: list[dict[str, Any]] = []
    all_stats: list[dict[str, dict[str, list[Any]]]] = []
    videos: dict[str, list[np.ndarray]] = {c: [] for c in cameras}
    video_frames = dict.fromkeys(cameras, 0)
    index = 0
    for e, episode in enumerate(episodes):
        rows = rows_of(episode)
        if joints:
            rows["observation.state"], rows["action"] = joints.episodes[episode.id]
        length = len(rows["action"])
        task = episode.meta["goal"] or episode.meta["scene"]
        task_index = tasks.setdefault(task, len(tasks))
        for key in vector_keys:
            columns[key].extend(rows[key])
        for key in SCALAR_KEYS:
            columns[key].extend(rows[key].tolist())
        columns["next.done"].extend([t == length - 1 for t in range(length)])
        columns["timestamp"].extend((np.arange(length) / fps).tolist())
        columns["frame_index"].extend(range(length))
        columns["episode_index"].extend([e] * length)
        columns["index"].extend(range(index, index + length))
        columns["task_index"].extend([task_index] * length)
        meta_row: dict[str, Any] = {
            "episode_index": e, "tasks": [task], "length": length,
            "data/chunk_index": 0, "data/file_index": 0,
            "dataset_from_index": index, "dataset_to_index": index + length,
            "meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0,
        }
        # Per-episode statistics, which LeRobot's edit tools pool again after a change.
        episode_stats = {key: _stats(np.asarray(rows[key]).reshape(length, -1))
                         for key in (*vector_keys, *SCALAR_KEYS)}
        for camera in cameras:
            images = episode[f"image/{camera}"]
            first = episode.initial().get(f"image/{camera}", images[0])
            videos[camera].append(np.concatenate([first[None], images]))
            key = _video_key(camera)
            episode_stats[key] = _image_stats(videos[camera][-1])
            start = video_frames[camera]
            meta_row.update({
                f"videos/{key}/chunk_index": 0, f"videos/{key}/file_index": 0,
                f"videos/{key}/from_timestamp": start / fps,
                f"videos/{key}/to_timestamp": (start + length) / fps,
            })
            video_frames[camera] += length + 1
        meta_row.update({f"stats/{key}/{name}": value for key, stats in episode_stats.items()
                         for name, value in stats.items()})
        all_stats.append(episode_stats)
        episode_rows.append(meta_row)
        index += length

    table = _frames_table(columns, vector_keys)
    data_path = out / DATA_PATH.format(chunk_index=0, file_index=0)
    data_path.parent.mkdir(parents=True)
    pq.write_table(pa.table(table), data_path)
    (out / EPISODES_PATH).parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(episode_rows), out / EPISODES_PATH)
    pq.write_table(_tasks_table(tasks), out / "meta/tasks.parquet")
    for camera in cameras:
        path = out / VIDEO_PATH.format(video_key=_video_key(camera), chunk_index=0, file_index=0)
        _write_video(path, np.concatenate(videos[camera]), fps, crf)

    meta = episodes[0].meta["meta"]
    features = _features(columns, table, {c: videos[c][0].shape[1:] for c in cameras}, fps,
                         vector_keys, _dimension_names(meta, joints))
    info = {
        "codebase_version": "v3.0",
        "robot_type": joints.robot_type if joints else meta.get("robot", episodes[0].meta["scene"]),
        "total_episodes": len(episodes),
        "total_frames": index,
        "total_tasks": len(tasks),
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 500,
        "fps": fps,
        "splits": {"train": f"0:{len(episodes)}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if cameras else None,
        "features": features,
    }
    (out / "meta/info.json").write_text(json.dumps(info, indent=1))
    stats = {key: _merge([s[key] for s in all_stats]) for key in all_stats[0]}
    (out / "meta/stats.json").write_text(json.dumps(stats))
    if not joints:  # the sidecar re-imports takes, which needs the simulator states
        write_sidecar(out / "meta/workbench.json", build_sidecar(workspace, episodes))
    return out


def _frames_table(columns: dict[str, list[Any]], vector_keys: tuple[str, ...]
                  ) -> dict[str, pa.Array]:
    """The data parquet's columns, typed as LeRobot reads them (simulator states in float64,
    the rest of the vectors in float32)."""
    table = {}
    for key in vector_keys:
        dtype = pa.float64() if "sim_state" in key else pa.float32()
        table[key] = pa.array([np.asarray(v).tolist() for v in columns[key]],
                              type=pa.list_(dtype))
    for key in SCALAR_KEYS:
        table[key] = pa.array(columns[key], type=pa.bool_() if key == "next.success"
                              else pa.float32())
    for key, dtype in (("next.done", pa.bool_()), ("timestamp", pa.float32()),
                       ("frame_index", pa.int64()), ("episode_index", pa.int64()),
                       ("index", pa.int64()), ("task_index", pa.int64())):
        table[key] = pa.array(columns[key], type=dtype)
    return table


def _dimension_names(meta: dict[str, Any], joints: RobotJoints | None) -> dict[str, list[str]]:
    """What each vector's dimensions are called: the real robot's joints, else the features
    the takes were recorded with (``hand_to_cube.0``) and their action labels (``dx``)."""
    if joints:
        return {key: joints.names for key in JOINT_KEYS}
    names = [name if size == 1 else f"{name}.{i}"
             for name, size in (meta.get("features") or {}).items() for i in range(size)]
    return {"observation.state": names, "next.observation.state": names,
            "action": list(meta.get("action_labels") or [])}


def _features(columns: dict[str, list[Any]], table: dict[str, pa.Array],
              video_shapes: dict[str, tuple[int, ...]], fps: int, vector_keys: tuple[str, ...],
              names: dict[str, list[str]]) -> dict[str, Any]:
    """``info.json``'s features: each column's dtype and shape, each camera's video, and the
    vectors' dimensions named where ``names`` knows them (the observation features,
    ``hand_to_cube.0``; a robot's joints, ``shoulder_pan.pos``), as LeRobot's viewer and a
    policy's config read them."""
    features = {key: _feature(np.asarray(columns[key]),
                              "float64" if "sim_state" in key else "float32")
                for key in vector_keys}
    for key, dimensions in names.items():
        if dimensions and features[key]["shape"] == [len(dimensions)]:
            features[key]["names"] = dimensions
    features.update({key: {"dtype": "bool" if key == "next.success" else "float32",
                           "shape": [1], "names": None} for key in SCALAR_KEYS})
    for camera, (h, w, c) in video_shapes.items():
        features[_video_key(camera)] = {
            "dtype": "video", "shape": [h, w, c], "names": ["height", "width", "channels"],
            "info": {"video.fps": fps, "video.codec": "h264", "video.pix_fmt": "yuv444p"},
        }
    for key in ("timestamp", "frame_index", "episode_index", "index", "task_index", "next.done"):
        features[key] = {"dtype": str(table[key].type), "shape": [1], "names": None}
    return features


def import_lerobot(workspace: Workspace, folder: str | Path, scene: str | None = None
                   ) -> list[int]:
    """Import a LeRobot v3.0 dataset with the workbench's columns (those ``export_lerobot``
    writes). Its sidecar brings each episode's scene, goal and the preferences; without one,
    ``scene`` names the scene of every episode. All or nothing (see ``staging``)."""
    folder = Path(folder)
    info_path = folder / "meta/info.json"
    if not info_path.exists():
        raise FileNotFoundError(f"{folder} is not a LeRobot dataset: no meta/info.json")
    sidecar = read_optional_sidecar(folder / "meta/workbench.json", scene)
    try:
        staged = _read_lerobot(folder, info_path, sidecar, scene)
    except DatasetError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, OSError, AttributeError,
            pa.ArrowException, av.FFmpegError) as exc:
        raise reading_error(f"{folder} is not a readable LeRobot dataset with the "
                            "workbench's columns", exc) from None
    if sidecar is not None:
        check_labels(sidecar, staged, str(folder / "meta/workbench.json"))
    return store(workspace, staged, sidecar)


def _read_lerobot(folder: Path, info_path: Path, sidecar: dict[str, Any] | None,
                  scene: str | None) -> list[StagedEpisode]:
    info = json.loads(info_path.read_text())
    if not str(info.get("codebase_version", "")).startswith("v3"):
        raise DatasetError(f"{folder} is LeRobot {info.get('codebase_version')}; this reads v3.x")
    missing = [k for k in (*VECTOR_KEYS, *SCALAR_KEYS, "episode_index")
               if k not in info.get("features", {})]
    if missing and holds_joints(info.get("features", {})):
        raise DatasetError(f"{folder} holds a robot's joint positions (as lerobot-record and "
                           "--layout joints write them), not the states a scene is rebuilt "
                           f"from: `workbench sim-to-real {folder}` replays it on the twin")
    if missing:
        raise DatasetError(f"{folder} has no {', '.join(missing)}: the workbench imports LeRobot "
                           f"datasets with the columns it exports ({', '.join(VECTOR_KEYS)}, ...)")
    files = sorted((folder / "data").rglob("*.parquet"))
    if not files:
        raise DatasetError(f"{folder} has no data/*.parquet files")
    data = pa.concat_tables([pq.read_table(p) for p in files]).to_pydict()
    episode_meta = pq.read_table(folder / EPISODES_PATH).to_pylist()
    fps = info["fps"]
    video_keys = [k for k, v in info["features"].items() if v["dtype"] == "video"]
    decoded = {}
    for key in video_keys:
        decoded[key] = read_video(folder / info["video_path"].format(
            video_key=key, chunk_index=0, file_index=0))
    staged = []
    episode_index = np.asarray(data["episode_index"])
    for n, meta in enumerate(sorted(episode_meta, key=lambda m: m["episode_index"])):
        where = f"{folder} episode {meta['episode_index']}"
        rows_idx = np.flatnonzero(episode_index == meta["episode_index"])
        if len(rows_idx) == 0:
            raise DatasetError(f"{where} has no data rows")
        rows = {key: np.asarray([data[key][i] for i in rows_idx])
                for key in (*VECTOR_KEYS, *SCALAR_KEYS)}
        frames, initial = frames_from_rows(rows)
        episode_info = sidecar_episode(sidecar, n, scene, "lerobot", where)
        for key in video_keys:
            start = int(round(meta[f"videos/{key}/from_timestamp"] * fps))
            clip = decoded[key][start : start + len(rows_idx) + 1]
            if len(clip) != len(rows_idx) + 1:
                raise DatasetError(f"{where}: the video {key} has {len(clip)} of the "
                                   f"{len(rows_idx) + 1} frames the episode needs")
            camera = _camera_of(key, episode_info)
            initial[f"image/{camera}"] = clip[0]
            frames[f"image/{camera}"] = clip[1:]
        staged.append(check_episode(StagedEpisode(episode_info, frames, initial), where))
    return staged


def _camera_of(video_key: str, episode_info: dict[str, Any]) -> str:
    """The workbench camera name behind a video key (names with '/' were flattened)."""
    flat = video_key.removeprefix("observation.images.")
    for camera in episode_info.get("meta", {}).get("image_cameras", []):
        if camera.replace("/", "_") == flat:
            return str(camera)
    return flat
