"""The app's shape, kept: panels talk to the session's models and typed events only, and the
session stays a set of small models."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What a panel may not import: it reaches physics, recorded data and reward models only through
# the session's models (workbench.session).
OFF_LIMITS = ("workbench.sim", "workbench.data", "workbench.rewards")


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_no_panel_imports_the_simulator_the_data_or_the_rewards():
    panels = sorted((ROOT / "gui" / "panels").glob("*.py"))
    assert len(panels) >= 8  # the scan covers the panels
    offenders = [f"{path.name}: {name}" for path in panels for name in imported_modules(path)
                 if name.startswith(OFF_LIMITS)]
    assert offenders == []


def test_panels_subscribe_to_typed_events_only():
    for path in sorted((ROOT / "gui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "subscribe" and node.args):
                assert not isinstance(node.args[0], ast.Constant), (
                    f"{path.name}:{node.lineno} subscribes to a string topic")


def test_the_session_is_small_models():
    sizes = {p.name: len(p.read_text().splitlines())
             for p in (ROOT / "workbench" / "session").glob("*.py")}
    assert len(sizes) >= 8 and max(sizes.values()) <= 250, sizes
