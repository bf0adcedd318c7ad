"""Persistent settings (QSettings): the open workspace, scene and robot, viewport quality and
view, window geometry and the last panel."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSettings

DEFAULT_WORKSPACE = Path("~/.workbench/workspace").expanduser()


class Settings:
    def __init__(self) -> None:
        self._store = QSettings("workbench", "Robot Reward Workbench")

    def workspace(self) -> Path:
        return Path(str(self._store.value("workspace", str(DEFAULT_WORKSPACE))))

    def scene(self) -> str | None:
        value = self._store.value("scene", None)
        return str(value) if value else None

    def shadows(self) -> bool:
        return str(self._store.value("shadows", "false")).lower() == "true"

    def flag(self, key: str, default: bool = False) -> bool:
        return str(self._store.value(key, str(default))).lower() == "true"

    def value(self, key: str, default: object = None) -> object:
        return self._store.value(key, default)

    def set(self, key: str, value: object) -> None:
        self._store.setValue(key, value)
        self._store.sync()
