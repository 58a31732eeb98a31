#!/usr/bin/env bash
# The main job: set up, index the bundled corpus into the default embedded store, open the UI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/dxa ingest --corpus
exec .venv/bin/dxa ui "$@"
