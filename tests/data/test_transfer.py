"""A scene's recordings packed for a node that does not see the workspace, and unpacked there
as a workspace of their own; what an archive may not do on unpacking."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from tests.data.test_workspace import _workspace_with_everything, write_episode
from workbench.data import Workspace
from workbench.data.transfer import pack_folder, pack_recordings, unpack


def test_a_scenes_recordings_and_labels_open_as_a_workspace_elsewhere(tmp_path):
    a, b = _workspace_with_everything(tmp_path / "ws")
    with Workspace.open(tmp_path / "ws") as ws:
        other = ws.new_episode(scene="Reach", source="teleop", seed=1)
        other.set_initial(state=np.zeros(2, np.float32))
        other.add_frame(state=np.ones(2, np.float32))
        other_id = other.save(success=False)
        (tmp_path / "their-model").mkdir()
        (tmp_path / "their-model" / "config.json").write_text('{"family": "progress"}')
        # A reward model a sweep's trials name, from outside the workspace, under its new name.
        archive = pack_recordings(ws, "Push", {"outside/0-their-model": tmp_path / "their-model"})
        write_episode(ws)  # after packing: not in the copy
    unpack(archive, tmp_path / "node")
    with Workspace.open(tmp_path / "node") as copy:
        assert [e["id"] for e in copy.episodes(scene="Push")] == [a, b]
        np.testing.assert_array_equal(copy.load_episode(b)["state"][:, 0], np.arange(5))
        assert [p.segments for p in copy.preferences()] == [[(a, 0, 3), (b, 1, 4)]]
        assert copy.models() == [] and copy.runs() == []  # their folders stayed behind
    folders = sorted(p.name for p in (tmp_path / "node" / "episodes").iterdir())
    assert folders == [f"{a:06d}", f"{b:06d}"] and f"{other_id:06d}" not in folders
    assert not any((tmp_path / "node" / "models").iterdir())
    assert (tmp_path / "node" / "outside" / "0-their-model" / "config.json").read_text() == (
        '{"family": "progress"}')


def test_a_folder_comes_back_whole(tmp_path):
    (tmp_path / "model" / "weights").mkdir(parents=True)
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "model" / "weights" / "net.safetensors").write_bytes(b"\x00\x01")
    unpack(pack_folder(tmp_path / "model"), tmp_path / "back")
    assert (tmp_path / "back" / "weights" / "net.safetensors").read_bytes() == b"\x00\x01"
    assert (tmp_path / "back" / "config.json").read_text() == "{}"


@pytest.mark.parametrize("name, link", [("../escaped.json", None), ("weights", "/etc/passwd")])
def test_an_archive_may_not_write_outside_its_folder_or_link_out(tmp_path, name, link):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        entry = tarfile.TarInfo(name)
        if link:
            entry.type, entry.linkname = tarfile.SYMTYPE, link
            tar.addfile(entry)
        else:
            entry.size = 2
            tar.addfile(entry, io.BytesIO(b"{}"))
    with pytest.raises(tarfile.FilterError):
        unpack(buffer.getvalue(), tmp_path / "into")
    assert not (tmp_path / "escaped.json").exists()
    assert not (tmp_path / "into" / "weights").exists()
