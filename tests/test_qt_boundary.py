"""The core (workbench/, robots/, scenes/) never imports Qt; only gui/ may."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ("workbench", "robots", "scenes")
QT = ("PyQt6", "PySide6", "PyQt5", "PySide2", "pyqtgraph")


def qt_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names
                  if n.split(".")[0] in QT or n.split(".")[0] == "gui"]
    return found


def test_no_core_file_imports_qt_or_the_gui():
    files = [p for package in CORE for p in (ROOT / package).rglob("*.py")]
    assert len(files) > 30  # the scan really covers the core
    offenders = [hit for path in files for hit in qt_imports(path)]
    assert offenders == []


def test_the_scanner_catches_a_qt_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from PyQt6.QtWidgets import QWidget\nimport os\n")
    original = ROOT
    try:
        globals()["ROOT"] = tmp_path
        assert qt_imports(bad) == ["bad.py:1 PyQt6.QtWidgets"]
    finally:
        globals()["ROOT"] = original


def test_importing_every_core_module_loads_no_qt():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in CORE for p in (ROOT / package).rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {QT!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
