"""Malformed datasets (robomimic HDF5, LeRobot v3.0, MP4) are refused with one clear error and
leave the workspace exactly as it was; whatever is accepted is a well-formed episode.

The corpus is generated from a seeded generator: valid exports, then one mutation each (a
dataset deleted, reshaped, retyped or filled with NaN, a group renamed, bytes flipped, the file
cut short, sidecar fields of the wrong type or pointing out of range). Every case is recorded
in ``OUTCOMES`` for the counts the closing note gives."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.data import Workspace
from workbench.data.edit import import_video
from workbench.data.formats.lerobot import export_lerobot, import_lerobot
from workbench.data.formats.robomimic import export_robomimic, import_robomimic, sidecar_path
from workbench.data.workspace import DATABASE
from workbench.envs import make_env
from workbench.teleop.recorder import record_policy_episodes, scripted_policy

CLEAN = (ValueError, FileNotFoundError)  # DatasetError is a ValueError
CASES = 160
OUTCOMES: Counter = Counter()


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    ws = Workspace.open(root / "ws", create=True)
    env = make_env("Reach")
    ids = record_policy_episodes(env, ws, scripted_policy(env, 0), 2, "scripted", 0,
                                 image_cameras=("front",), image_size=32)
    env.close()
    ws.add_goal("touch the red ball", "Reach", None)
    ws.add_preference([(ids[0], 0, 5), (ids[1], 2, 7)], "left")
    export_robomimic(ws, root / "demo.hdf5")
    export_lerobot(ws, root / "lerobot")
    ws.close()
    return root


def _fingerprint(ws: Workspace) -> tuple:
    files = sorted(str(p.relative_to(ws.root)) for p in ws.root.rglob("*")
                   if p.is_file() and not p.name.startswith(DATABASE))
    return (files, [r["id"] for r in ws.episodes()], len(ws.preferences()), len(ws.goals()))


def _import_and_judge(ws: Workspace, load, target: Path) -> str:
    before = _fingerprint(ws)
    try:
        ids = load(ws, target)
    except CLEAN as exc:
        assert str(exc) and "\n" not in str(exc).strip(), exc
        assert _fingerprint(ws) == before, f"a failed import changed the workspace: {exc}"
        return "refused"
    for episode_id in ids:  # accepted: well-formed, or it would have been refused
        episode = ws.load_episode(episode_id)
        assert len(episode) >= 1
        for key in episode.keys():
            assert episode[key].dtype.kind != "f" or np.isfinite(episode[key]).all(), key
        ws.delete_episode(episode_id)
    return "accepted"


# -- robomimic ---------------------------------------------------------------------------------
def _mutate_hdf5(path: Path, rng: np.random.Generator) -> str:
    kind = rng.choice(["delete", "nan", "reshape", "strings", "rename", "attrs", "flip", "cut",
                       "sidecar", "empty"])
    if kind in ("flip", "cut"):
        raw = bytearray(path.read_bytes())
        if kind == "cut":
            raw = raw[: int(rng.integers(0, len(raw)))]
        else:
            for _ in range(int(rng.integers(1, 20))):
                raw[int(rng.integers(0, len(raw)))] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(raw))
        return kind
    if kind == "sidecar":
        side = sidecar_path(path)
        data = json.loads(side.read_text())
        _mutate_sidecar(data, rng)
        side.write_text(json.dumps(data))
        return kind
    with h5py.File(path, "r+") as f:
        demo = f["data"][str(rng.choice(sorted(f["data"])))]
        names = []
        demo.visit(lambda n: names.append(n) if isinstance(demo[n], h5py.Dataset) else None)
        name = str(rng.choice(names))
        if kind == "delete":
            del demo[name]
        elif kind == "rename":
            f["data"].move(demo.name.split("/")[-1], str(rng.choice(["demo_x", "bad", "demo_-1",
                                                                     "demo_1_2", "x_1"])))
        elif kind == "attrs":
            f["data"].attrs["env_args"] = str(rng.choice(["{", "[]", "null", '{"cameras": 5}',
                                                         '{"cameras": ["nope"]}']))
        else:
            old = demo[name][()]
            del demo[name]
            if kind == "nan" and old.dtype.kind == "f":
                old = old.copy()
                old.flat[int(rng.integers(0, old.size))] = rng.choice([np.nan, np.inf])
                demo[name] = old
            elif kind == "reshape" or kind == "nan":
                demo[name] = old.reshape(-1)[: max(old.size - 1, 0)]
            elif kind == "strings":
                demo.create_dataset(name, data=np.array([b"x"] * max(len(old), 1)))
            else:  # empty
                demo[name] = old[:0]
    return kind


def _mutate_sidecar(data: dict, rng: np.random.Generator) -> None:
    choice = rng.integers(0, 8)
    episode = data["episodes"][0]
    if choice == 0:
        episode["scene"] = ["Nope", 3, None, ""][int(rng.integers(0, 4))]
    elif choice == 1:
        episode["seed"] = ["x", 1.5, True, [1]][int(rng.integers(0, 4))]
    elif choice == 2:
        episode["success"] = rng.choice([2, "yes", -1]).item()
    elif choice == 3:
        data["preferences"] = [{"segments": [[0, 0, 5], [9, 0, 5]], "answer": "left",
                                "kind": "pair", "teacher": "user", "rating": None}]
    elif choice == 4:
        data["preferences"] = [{"segments": [[0, 5, 2], [1, 0, 3]], "answer": "left",
                                "kind": "pair", "teacher": "user", "rating": None}]
    elif choice == 5:
        data["goals"] = [{"text": "", "scene": "Reach", "baseline": None}]
    elif choice == 6:
        data["episodes"] = data["episodes"][:1]
    else:
        episode["meta"] = "not a dict"


def test_malformed_robomimic_files_are_refused_and_leave_the_workspace_alone(exports, tmp_path):
    rng = np.random.default_rng(2026)
    kinds = Counter()
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        assert _import_and_judge(ws, import_robomimic, exports / "demo.hdf5") == "accepted"
        for i in range(CASES):
            path = tmp_path / f"case{i}.hdf5"
            shutil.copy(exports / "demo.hdf5", path)
            shutil.copy(sidecar_path(exports / "demo.hdf5"), sidecar_path(path))
            kind = _mutate_hdf5(path, rng)
            outcome = _import_and_judge(ws, import_robomimic, path)
            kinds[(kind, outcome)] += 1
            OUTCOMES[("robomimic", outcome)] += 1
            path.unlink()
    assert sum(v for (k, o), v in kinds.items() if o == "refused") > CASES // 2, kinds


# -- LeRobot -----------------------------------------------------------------------------------
def _mutate_lerobot(folder: Path, rng: np.random.Generator) -> str:
    kind = str(rng.choice(["info", "parquet_nan", "parquet_cut", "parquet_columns", "episodes",
                           "video", "sidecar", "flip"]))
    data = sorted((folder / "data").rglob("*.parquet"))[0]
    if kind == "info":
        info = json.loads((folder / "meta/info.json").read_text())
        field = rng.choice(["codebase_version", "fps", "features", "video_path"])
        info[str(field)] = rng.choice(["v2.1", "x", 0, "{video_key}/../../../etc"]).item() \
            if field != "features" else {"action": {"dtype": "float32"}}
        (folder / "meta/info.json").write_text(json.dumps(info))
    elif kind == "parquet_nan":
        table = pq.read_table(data).to_pydict()
        column = str(rng.choice(["action", "observation.state", "next.reward"]))
        row = int(rng.integers(0, len(table[column])))
        value = table[column][row]
        table[column][row] = ([float("nan")] * len(value) if isinstance(value, list)
                              else float("inf"))
        pq.write_table(pa.table(table), data)
    elif kind == "parquet_cut":
        raw = data.read_bytes()
        data.write_bytes(raw[: int(rng.integers(0, len(raw)))])
    elif kind == "parquet_columns":
        table = pq.read_table(data)
        pq.write_table(table.drop([str(rng.choice(table.column_names))]), data)
    elif kind == "episodes":
        path = folder / "meta/episodes/chunk-000/file-000.parquet"
        rows = pq.read_table(path).to_pylist()
        rows[0]["episode_index"] = int(rng.choice([99, -1]))
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif kind == "video":
        video = sorted((folder / "videos").rglob("*.mp4"))[0]
        raw = video.read_bytes()
        video.write_bytes(raw[: int(rng.integers(0, len(raw)))])
    elif kind == "sidecar":
        side = folder / "meta/workbench.json"
        sidecar = json.loads(side.read_text())
        _mutate_sidecar(sidecar, rng)
        side.write_text(json.dumps(sidecar))
    else:
        raw = bytearray(data.read_bytes())
        for _ in range(int(rng.integers(1, 10))):
            raw[int(rng.integers(0, len(raw)))] ^= int(rng.integers(1, 256))
        data.write_bytes(bytes(raw))
    return kind


def test_malformed_lerobot_datasets_are_refused_and_leave_the_workspace_alone(exports, tmp_path):
    rng = np.random.default_rng(7)
    kinds = Counter()
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        for i in range(CASES):
            folder = tmp_path / f"case{i}"
            shutil.copytree(exports / "lerobot", folder)
            kind = _mutate_lerobot(folder, rng)
            outcome = _import_and_judge(ws, import_lerobot, folder)
            kinds[(kind, outcome)] += 1
            OUTCOMES[("lerobot", outcome)] += 1
            shutil.rmtree(folder)
    assert sum(v for (k, o), v in kinds.items() if o == "refused") > CASES // 2, kinds


def test_datasets_without_the_sidecar_import_with_a_named_scene_only(exports, tmp_path):
    folder = tmp_path / "foreign"
    shutil.copytree(exports / "lerobot", folder)
    (folder / "meta/workbench.json").unlink()
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        with pytest.raises(ValueError, match="--scene"):
            import_lerobot(ws, folder)
        ids = import_lerobot(ws, folder, scene="Reach")
        assert [ws.load_episode(i).meta["scene"] for i in ids] == ["Reach", "Reach"]
        assert ws.preferences() == []  # labels travel only in the sidecar
        with pytest.raises(ValueError, match="scene 'Nope'"):
            import_lerobot(ws, folder, scene="Nope")


# -- MP4 ---------------------------------------------------------------------------------------
def test_malformed_videos_are_refused_and_leave_no_episode(exports, tmp_path):
    rng = np.random.default_rng(11)
    video = sorted((exports / "lerobot" / "videos").rglob("*.mp4"))[0].read_bytes()
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        for i in range(60):
            raw = bytearray(video)
            if i % 3 == 0:
                raw = raw[: int(rng.integers(0, len(raw)))]
            else:
                for _ in range(int(rng.integers(1, 40))):
                    raw[int(rng.integers(0, len(raw)))] ^= int(rng.integers(1, 256))
            path = tmp_path / f"case{i}.mp4"
            path.write_bytes(bytes(raw))
            outcome = _import_and_judge(
                ws, lambda w, p: [import_video(w, p, scene="Reach", goal="touch the ball",
                                               size=16)], path)
            OUTCOMES[("mp4", outcome)] += 1
        assert not [r for r in ws.episodes() if r["status"] != "saved"]
