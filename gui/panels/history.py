"""The Train panel's past runs of the scene: their true success, reward and goal, and each
run's learning curve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PyQt6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

RUN_COLUMNS = ("run", "status", "true success", "reward", "goal")


def learning_curve(run_dir: str | Path) -> tuple[list[int], list[float]]:
    """Steps and true success rate from a run's ``metrics.jsonl`` (empty when it has none)."""
    steps, success = [], []
    log = Path(run_dir) / "metrics.jsonl"
    if log.exists():
        for line in log.read_text().splitlines():
            try:
                record = json.loads(line)
                point = int(record["step"]), float(record["charts/success_rate"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line of a killed run, or an event (a lost worker)
            steps.append(point[0])
            success.append(point[1])
    return steps, success


class RunHistory(QTableWidget):
    """The scene's runs, newest first; ``runs[row]`` is the row's run."""

    def __init__(self):
        super().__init__(0, len(RUN_COLUMNS))
        self.setHorizontalHeaderLabels(RUN_COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().hide()
        self.setMaximumHeight(140)
        self.runs: list[dict[str, Any]] = []

    def show_runs(self, runs: list[dict[str, Any]]) -> None:
        self.runs = list(reversed(runs))[:50]
        self.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            metrics = run["metrics"]
            success = metrics.get("success_rate")
            reward = str(metrics.get("reward", ""))
            config = Path(run["path"]) / "config.json"
            goal = ""
            if config.exists():
                try:
                    goal = json.loads(config.read_text()).get("goal", "")
                except ValueError:
                    goal = ""
            cells = (f"#{run['id']} {run['name']}", run["status"],
                     "" if success is None else f"{success:.0%}",
                     Path(reward).name if "/" in reward else reward, goal)
            for column, text in enumerate(cells):
                self.setItem(row, column, QTableWidgetItem(text))
