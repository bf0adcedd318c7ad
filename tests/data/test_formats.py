"""Round trips through LeRobot v3.0 and robomimic HDF5: states and actions exact, images within
the codec's tolerance, every preference and goal."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from workbench.data import Workspace
from workbench.data.formats.lerobot import export_lerobot, import_lerobot
from workbench.data.formats.robomimic import export_robomimic, import_robomimic
from workbench.envs import make_env
from workbench.teleop.recorder import random_policy, record_policy_episodes, scripted_policy

EXACT = ("action", "state", "sim_state", "reward", "progress", "success")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    ws = Workspace.open(tmp_path_factory.mktemp("src") / "ws", create=True)
    env = make_env("Push")
    cams = ("front", "robot/wrist_cam")
    ids = record_policy_episodes(env, ws, scripted_policy(env, 0), 2, "scripted", 0,
                                 image_cameras=cams)
    ids += record_policy_episodes(env, ws, random_policy(env, 1), 1, "random", 50,
                                  image_cameras=cams)
    ws.add_goal("push the cube onto the green pad", "Push", "a cube on a table")
    ws.add_preference([(ids[0], 0, 10), (ids[2], 5, 15)], "left")
    ws.add_preference([(ids[1], 0, 10), (ids[2], 0, 10)], "equal", teacher="oracle")
    ws.add_preference([(ids[0], 0, 5), (ids[1], 0, 5), (ids[2], 0, 5)], [1, 0, 2],
                      kind="ranking")
    yield ws, ids
    ws.close()


def assert_same_workspace(src: Workspace, ids: list[int], dst: Workspace, new_ids: list[int],
                          image_tolerance: float) -> None:
    assert len(new_ids) == len(ids)
    for old, new in zip(ids, new_ids, strict=True):
        a, b = src.load_episode(old), dst.load_episode(new)
        for key in EXACT:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        for key in ("state", "sim_state"):
            np.testing.assert_array_equal(a.initial()[key], b.initial()[key])
        for camera in ("front", "robot/wrist_cam"):
            original, restored = a[f"image/{camera}"], b[f"image/{camera}"]
            assert original.shape == restored.shape
            error = np.abs(original.astype(float) - restored.astype(float)).mean()
            assert error <= image_tolerance, (camera, error)
        for field in ("scene", "source", "seed", "goal", "success"):
            assert a.meta[field] == b.meta[field]
    remap = dict(zip(ids, new_ids, strict=True))
    want = [(p.kind, [(remap[s[0]], s[1], s[2]) for s in p.segments], p.answer, p.teacher)
            for p in src.preferences()]
    got = [(p.kind, [tuple(s) for s in p.segments], p.answer, p.teacher)
           for p in dst.preferences()]
    assert got == want
    assert {(g["text"], g["baseline"]) for g in dst.goals()} >= {
        ("push the cube onto the green pad", "a cube on a table")}


def test_lerobot_v3_round_trip(source, tmp_path):
    ws, ids = source
    out = export_lerobot(ws, tmp_path / "dataset")
    info = json.loads((out / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_episodes"] == 3
    assert info["features"]["observation.images.front"]["dtype"] == "video"
    data = pq.read_table(out / "data/chunk-000/file-000.parquet")
    assert data.num_rows == info["total_frames"] == sum(len(ws.load_episode(i)) for i in ids)
    assert {"observation.state", "action", "next.reward", "episode_index", "task_index"} <= set(
        data.column_names)
    assert (out / "videos/observation.images.front/chunk-000/file-000.mp4").exists()
    with Workspace.open(tmp_path / "imported", create=True) as dst:
        new_ids = import_lerobot(dst, out)
        assert_same_workspace(ws, ids, dst, new_ids, image_tolerance=3.0)


def test_robomimic_round_trip_is_exact_for_images_too(source, tmp_path):
    ws, ids = source
    path = export_robomimic(ws, tmp_path / "push.hdf5")
    import h5py

    with h5py.File(path) as f:
        assert sorted(f["data"]) == ["demo_0", "demo_1", "demo_2"]
        demo = f["data/demo_0"]
        assert demo["actions"].shape[0] == demo.attrs["num_samples"]
        assert demo["states"].dtype == np.float64 and "obs/front_image" in demo
    with Workspace.open(tmp_path / "imported", create=True) as dst:
        new_ids = import_robomimic(dst, path)
        assert_same_workspace(ws, ids, dst, new_ids, image_tolerance=0.0)


def test_exporting_into_a_used_folder_or_importing_garbage_fails_clearly(source, tmp_path):
    ws, _ = source
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        export_lerobot(ws, tmp_path / "busy")
    with Workspace.open(tmp_path / "dst", create=True) as dst:
        with pytest.raises(FileNotFoundError, match="no meta/info.json"):
            import_lerobot(dst, tmp_path / "busy")
        assert dst.episodes() == []  # nothing half-imported
