"""The Workspace: SQLite index plus append-only episode arrays, crash safety, clear errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from workbench.cli.main import main
from workbench.data import Workspace, WorkspaceError
from workbench.data.episode import _file_name


def write_episode(ws: Workspace, frames: int = 5, save: bool = True, **meta):
    writer = ws.new_episode(scene="Push", source="teleop", seed=3, goal="push the cube")
    writer.set_initial(state=np.zeros(4, np.float32))
    for t in range(frames):
        writer.add_frame(state=np.full(4, t, np.float32), action=np.array([t, -t], np.float32),
                         success=np.bool_(t == frames - 1))
    return writer.save(success=True, **meta) if save else writer


def test_create_reopen_and_list(tmp_path):
    root = tmp_path / "ws"
    with Workspace.open(root, create=True) as ws:
        episode_id = write_episode(ws)
    with Workspace.open(root) as ws:
        (row,) = ws.episodes()
        assert row["id"] == episode_id and row["num_steps"] == 5 and row["success"] == 1
        assert row["goal"] == "push the cube"
        episode = ws.load_episode(episode_id)
        np.testing.assert_array_equal(episode["state"][:, 0], np.arange(5))
        assert episode["action"].shape == (5, 2)
        assert episode.initial()["state"].shape == (4,)


def test_opening_a_missing_workspace_without_create_explains(tmp_path):
    with pytest.raises(WorkspaceError, match="no workspace at"):
        Workspace.open(tmp_path / "nowhere")


def test_a_workspace_that_cannot_be_made_there_says_so_in_one_line(tmp_path, capsys):
    from workbench.cli.main import main

    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with pytest.raises(WorkspaceError, match="^cannot make a workspace at .*notes.txt/ws"):
        Workspace.open(tmp_path / "notes.txt" / "ws", create=True)
    assert main(["record", "Reach", "--scripted", "1", "-w",
                 str(tmp_path / "notes.txt" / "ws")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        "workbench record: error: cannot make a workspace at")


def test_a_foreign_non_empty_folder_is_refused_untouched(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(WorkspaceError, match="not a workbench workspace"):
        Workspace.open(tmp_path, create=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]


def _workspace_with_everything(root):
    """Two episodes, a label between them, a model folder and a finished run folder."""
    with Workspace.open(root, create=True) as ws:
        a, b = write_episode(ws), write_episode(ws)
        ws.add_preference([(a, 0, 3), (b, 1, 4)], "left")
        for kind, config in (("models", {"family": "progress", "scene": "Push"}),
                             ("runs", {"scene": "Push", "reward": "model"})):
            folder = ws.new_artifact_dir(kind, "progress-Push" if kind == "models" else "ppo-Push")
            (folder / "config.json").write_text(json.dumps(config))
            if kind == "models":
                ws.add_model("progress-Push", "progress", "Push", folder, {"spearman": 0.9})
            else:
                (folder / "policy").mkdir()
                ws.add_run("ppo-Push", "Push", folder, "finished", {"success_rate": 1.0})
    return a, b


def test_a_wholly_corrupt_database_is_rebuilt_from_the_folders(tmp_path, capsys):
    root = tmp_path / "ws"
    a, b = _workspace_with_everything(root)
    for suffix in ("", "-wal", "-shm"):
        path = root / f"workbench.sqlite{suffix}"
        if path.exists():
            path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(WorkspaceError, match="damaged.*untouched.*workspace recover"):
        Workspace.open(root)
    assert (root / "episodes" / f"{a:06d}" / _file_name("state")).exists()
    assert main(["workspace", "recover", "-w", str(root)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["recovered"]) == [a, b]
    assert Path(report["moved_aside"]).read_bytes().startswith(b"this is not")  # kept
    assert report["labels_from_journal"] == 1  # the one copy of the label outside the database
    with Workspace.open(root) as ws:
        assert [len(ws.load_episode(i)) for i in (a, b)] == [5, 5]
        assert ws.episodes()[0]["goal"] == "push the cube"
        assert [(p.answer, p.segments[0][0]) for p in ws.preferences()] == [("left", a)]
        (model,) = ws.models()
        (run,) = ws.runs()
        assert (model["name"], model["family"], run["name"], run["status"]) == (
            "progress-Push", "progress", "ppo-Push", "finished")
        assert ws.check() == []


def test_labels_survive_where_only_part_of_the_database_is_damaged(tmp_path, capsys):
    root = tmp_path / "ws"
    a, b = _workspace_with_everything(root)
    database = root / "workbench.sqlite"
    with sqlite3.connect(database) as db:  # closing checkpoints the journal into the file
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        (root_page,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name='episodes'").fetchone()
    db.close()
    with database.open("r+b") as f:  # the episodes table's first page, overwritten
        f.seek((root_page - 1) * page_size)
        f.write(b"\xff" * page_size)
    with pytest.raises(WorkspaceError, match="damaged"):
        Workspace.open(root)
    assert main(["workspace", "recover", "-w", str(root)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["salvaged_rows"] == {"goals": 1, "preferences": 1, "models": 1, "runs": 1}
    assert report["labels_from_journal"] == 0  # the database's own copy read
    assert report["indexed_folders"] == []  # the salvaged rows already name both folders
    with Workspace.open(root) as ws:
        (label,) = ws.preferences()
        assert (label.answer, [s[0] for s in label.segments]) == ("left", [a, b])
        assert ws.models()[0]["metrics"] == {"spearman": 0.9}
        assert ws.runs()[0]["metrics"] == {"success_rate": 1.0}
        assert ws.check() == []


def test_recover_indexes_model_and_run_folders_the_index_lost(tmp_path, capsys):
    root = tmp_path / "ws"
    _workspace_with_everything(root)
    with sqlite3.connect(root / "workbench.sqlite") as db:
        db.execute("DELETE FROM runs")
    db.close()
    with Workspace.open(root) as ws:
        assert any("is not in the index" in p for p in ws.check())
    assert main(["workspace", "recover", "-w", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["indexed_folders"][0].startswith("runs/ppo-Push-")
    with Workspace.open(root) as ws:
        assert [r["status"] for r in ws.runs()] == ["finished"] and ws.check() == []


def test_frames_written_before_a_crash_are_kept(tmp_path):
    root = tmp_path / "ws"
    ws = Workspace.open(root, create=True)
    writer = write_episode(ws, frames=7, save=False)
    # Simulate a crash mid-write: half a row appended to one array file, process gone.
    with open(writer.folder / _file_name("state"), "ab") as handle:
        handle.write(b"\x00\x00\x80")
    ws.close()
    with Workspace.open(root) as ws:
        assert ws.episodes() == []  # not saved...
        assert [e["status"] for e in ws.episodes(include_incomplete=True)] == ["recording"]
        (recovered,) = ws.recover()  # ...but nothing written is lost
        episode = ws.load_episode(recovered)
        assert len(episode) == 7
        np.testing.assert_array_equal(episode["state"][:, 0], np.arange(7))


def test_discard_removes_the_take_and_nothing_else(workspace):
    kept = write_episode(workspace)
    writer = write_episode(workspace, save=False)
    folder = writer.folder
    writer.discard()
    assert not folder.exists()
    assert [e["id"] for e in workspace.episodes(include_incomplete=True)] == [kept]


def test_frames_must_keep_their_keys_and_shapes(workspace):
    writer = workspace.new_episode(scene="Push", source="teleop")
    writer.add_frame(state=np.zeros(3))
    with pytest.raises(ValueError, match="differ"):
        writer.add_frame(state=np.zeros(3), action=np.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        writer.add_frame(state=np.zeros(4))


def test_preferences_validate_and_go_with_their_episode(workspace):
    a, b = write_episode(workspace), write_episode(workspace)
    pref = workspace.add_preference([(a, 0, 3), (b, 1, 4)], "left")
    ranking = workspace.add_preference([(a, 0, 2), (b, 0, 2), (a, 2, 4)], [2, 0, 1],
                                       kind="ranking")
    assert [p.id for p in workspace.preferences()] == [pref, ranking]
    assert workspace.preferences()[1].answer == [2, 0, 1]
    with pytest.raises(ValueError, match="left, right, equal, skip|answer in"):
        workspace.add_preference([(a, 0, 3), (b, 0, 3)], "maybe")
    with pytest.raises(ValueError, match="outside episode"):
        workspace.add_preference([(a, 0, 99), (b, 0, 3)], "right")
    with pytest.raises(ValueError, match="exactly once"):
        workspace.add_preference([(a, 0, 2), (b, 0, 2)], [0, 0], kind="ranking")
    workspace.delete_episode(b)
    assert workspace.preferences() == []  # labels pointing into b went with it
    assert [e["id"] for e in workspace.episodes()] == [a]


def test_goals_are_deduplicated_per_scene(workspace):
    first = workspace.add_goal("push the red cube onto the green pad", "Push")
    again = workspace.add_goal("  push the red cube onto the green pad ", "Push")
    assert first == again
    with pytest.raises(ValueError, match="needs some text"):
        workspace.add_goal("   ", "Push")


def test_the_database_is_plain_sqlite(tmp_path):
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        write_episode(ws)
    rows = sqlite3.connect(tmp_path / "ws" / "workbench.sqlite").execute(
        "SELECT scene, source, status FROM episodes").fetchall()
    assert rows == [("Push", "teleop", "saved")]


def test_journalled_labels_that_do_not_read_as_labels_are_left_out(tmp_path, capsys):
    root = tmp_path / "ws"
    with Workspace.open(root, create=True) as ws:
        a, b = write_episode(ws), write_episode(ws)
        ws.add_preference([(a, 0, 3), (b, 0, 3)], "left")
    good = {"id": 9, "kind": "pair", "segments": json.dumps([[a, 0, 2], [b, 0, 2]]),
            "answer": "right", "rating": None, "teacher": "user", "created": 5.0}
    hostile = [{**good, "id": 7, "x); DROP TABLE episodes; --": 1, "segments": "[[1]]"},
               {**good, "id": "junk"}, {**good, "id": 8, "kind": "exec"},
               {**good, "id": 10, "segments": json.dumps([[99, 0, 2], [a, 0, 2]])}]
    journal = root / "labels.jsonl"
    journal.write_text(journal.read_text() + "".join(json.dumps(r) + "\n" for r in hostile)
                       + "[1, 2]\nnot json\n" + json.dumps(good) + "\n")
    assert main(["workspace", "recover", "-w", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["labels_from_journal"] == 1
    with Workspace.open(root) as ws:  # the good row back; no episode gone, nothing else added
        assert [(p.id, p.answer) for p in ws.preferences()] == [(1, "left"), (9, "right")]
        assert len(ws.episodes()) == 2 and ws.check() == []
