"""SHA-256 digests of the files the workbench writes, kept in each artifact's manifest
(``config.json`` of a reward, ``bundle.json`` of a policy, ``episode.json`` of an episode), so
that a flipped byte is an error naming the file instead of a silently different result.
Standard library only: the torch-free runner checks bundles with it."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mismatched(folder: str | Path, expected: dict[str, str]) -> list[str]:
    """The files of ``folder`` whose digest differs from ``expected`` (missing ones too)."""
    folder = Path(folder)
    return [name for name, digest in expected.items()
            if not (folder / name).is_file() or sha256(folder / name) != digest]
