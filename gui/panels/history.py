"""What the Train panel offers from the workspace: every stored reward model of the scene (with
its family and report) as a reward to train on, and the scene's past runs with their true
success, reward and learning curves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PyQt6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from workbench.data.workspace import Workspace

BUILT_IN = (("latest", "latest learned model"), ("reference", "the scene's reference reward"),
            ("sparse", "1 on success, else 0"))
RUN_COLUMNS = ("run", "status", "true success", "reward", "goal")


def model_label(model: dict[str, Any]) -> str:
    """``#12 perceptual_progress · Spearman 0.93 · success above failure 1.00``."""
    metrics = model["metrics"]
    parts = [f"#{model['id']} {model['family']}"]
    if "spearman_progress" in metrics:
        parts.append(f"Spearman {metrics['spearman_progress']:.2f}")
    if "success_vs_failure" in metrics:
        parts.append(f"success above failure {metrics['success_vs_failure']:.2f}")
    if "preference_accuracy" in metrics:
        parts.append(f"accuracy {metrics['preference_accuracy']:.2f}")
    return " · ".join(parts)


def reward_choices(workspace: Workspace, scene: str) -> list[tuple[str, str]]:
    """(label, value for RunConfig.reward): the built-in rewards, then each stored model."""
    stored = [(model_label(m), str(m["path"])) for m in reversed(workspace.models(scene))]
    return [(f"{name} — {what}", name) for name, what in BUILT_IN] + stored


def learning_curve(run_dir: str | Path) -> tuple[list[int], list[float]]:
    """Steps and true success rate from a run's ``metrics.jsonl`` (empty when it has none)."""
    steps, success = [], []
    log = Path(run_dir) / "metrics.jsonl"
    if log.exists():
        for line in log.read_text().splitlines():
            try:
                record = json.loads(line)
                steps.append(int(record["step"]))
                success.append(float(record["charts/success_rate"]))
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line of a killed run
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
