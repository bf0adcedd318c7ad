"""Pretrained scene encoders kept on disk, so the minutes of pretraining are paid once per scene
and settings, not once per process.

An entry is a folder named by the SHA-256 of what decides the result (the scene, the source of
its class and its bases, the cameras and every pretraining setting, the MuJoCo and torch
versions): the encoder's tensors in ``encoder.safetensors`` and ``manifest.json`` with the key
and the file's digest. A changed or unreadable entry is ignored (with a warning) and computed
again; entries are written to a temporary folder and renamed, so a killed process never leaves
half of one.

The folder is ``$WORKBENCH_CACHE_DIR/encoders`` (default ``~/.cache/workbench/encoders``);
deleting it only costs the pretraining again.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any

import mujoco
import torch
from safetensors.torch import load_file, save_file

from workbench.checksums import sha256

VERSION = 2  # 2: frames rendered without multisampling (MODEL_FRAMES)
WEIGHTS, MANIFEST = "encoder.safetensors", "manifest.json"


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workbench"
    return Path(os.environ.get("WORKBENCH_CACHE_DIR") or default) / "encoders"


def entry_key(scene: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What decides a pretrained encoder: a change to any of it is another entry."""
    from workbench.registry import SCENES

    # The scene's file and its bases' (DrawerOpen scatters in scenes/cabinet.py's CabinetTask).
    files = dict.fromkeys(inspect.getsourcefile(c) for c in SCENES.load(scene).__mro__
                          if c is not object)
    digest = [sha256(f) if f else "unknown" for f in files]
    return {"version": VERSION, "scene": scene, "scene_source": digest,
            "mujoco": mujoco.__version__, "torch": torch.__version__.split("+")[0], **settings}


def _folder(key: dict[str, Any]) -> Path:
    text = json.dumps(key, sort_keys=True)
    return cache_root() / hashlib.sha256(text.encode()).hexdigest()[:32]


def load(key: dict[str, Any]) -> dict[str, torch.Tensor] | None:
    folder = _folder(key)
    if not (folder / MANIFEST).exists():
        return None
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest["key"] != json.loads(json.dumps(key)):
            raise ValueError("the entry was written for other settings")
        if sha256(folder / WEIGHTS) != manifest["sha256"]:
            raise ValueError(f"{WEIGHTS} does not match its checksum")
        return load_file(str(folder / WEIGHTS))
    except Exception as exc:  # any damage: pretrain again and write a fresh entry
        warnings.warn(f"ignoring the cached encoder in {folder} ({exc}); pretraining again",
                      stacklevel=2)
        return None


def save(key: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Path:
    folder = _folder(key)
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()},
                  str(tmp / WEIGHTS))
        (tmp / MANIFEST).write_text(json.dumps({"key": key, "sha256": sha256(tmp / WEIGHTS)},
                                               indent=1))
        shutil.rmtree(folder, ignore_errors=True)  # a damaged entry it replaces
        os.replace(tmp, folder)
    except OSError as exc:  # a full or read-only disk costs the next process the pretraining
        shutil.rmtree(tmp, ignore_errors=True)
        warnings.warn(f"could not cache the pretrained encoder in {folder}: {exc}",
                      stacklevel=2)
    return folder
