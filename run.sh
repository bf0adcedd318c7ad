#!/usr/bin/env bash
# Install what is missing, then start the workbench: the GUI by default; `--headless` runs the
# whole loop without a screen; any subcommand (`scenes`, `record`, `train`, ...) runs that stage.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$ROOT/setup.sh"  # the same extras as test.sh: switching between them reinstalls nothing
exec "${WORKBENCH_VENV:-$ROOT/.venv}/bin/workbench" "$@"
