#!/usr/bin/env bash
# Install what is missing, then start the workbench: the GUI by default; `--headless` runs the
# whole loop without a screen; any subcommand (`scenes`, `record`, `train`, ...) runs that stage.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORKBENCH_EXTRAS="${WORKBENCH_EXTRAS:-gui}" "$ROOT/setup.sh"
exec "${WORKBENCH_VENV:-$ROOT/.venv}/bin/workbench" "$@"
