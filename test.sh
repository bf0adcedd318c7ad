#!/usr/bin/env bash
# Install what is missing, lint (ruff, the import layers, mypy), and run the test suite
# (headless: Qt offscreen, EGL rendering).
# Extra arguments go to pytest, e.g. ./test.sh -m slow, ./test.sh tests/sim -x.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The tests also need the optional Ray extra (the cluster tests start a real two-node cluster).
WORKBENCH_EXTRAS="${WORKBENCH_EXTRAS:-gui,devices,language,ros,ray,dev}" \
  WORKBENCH_LEROBOT="${WORKBENCH_LEROBOT:-1}" "$ROOT/setup.sh"
VENV="${WORKBENCH_VENV:-$ROOT/.venv}"
cd "$ROOT"
export QT_QPA_PLATFORM=offscreen MUJOCO_GL="${MUJOCO_GL:-egl}" PYTHONDONTWRITEBYTECODE=1
"$VENV/bin/ruff" check workbench robots scenes gui tests benchmarks docs
# The core's layers (contract in pyproject.toml); the report is shown when a layer is crossed.
"$VENV/bin/lint-imports" --no-cache >/dev/null || { "$VENV/bin/lint-imports" --no-cache; exit 1; }
"$VENV/bin/mypy"  # types of workbench/ (settings in pyproject.toml)
# One pytest worker per core (WORKBENCH_TEST_WORKERS to change it; 0 runs in this process);
# each test file stays on one worker, so its module fixtures are built once.
exec "$VENV/bin/python" -m pytest -n "${WORKBENCH_TEST_WORKERS:-auto}" --dist loadfile "$@"
