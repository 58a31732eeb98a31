#!/usr/bin/env bash
# Create .venv and install the project (plus test tools with "test"). Re-running installs nothing
# new unless pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
py="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $py" >&2
  "$py" -m venv .venv
fi
hash="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
stamp=".venv/.installed-$hash${extra:+-$extra}"
# the test install includes the base one
if [ ! -f "$stamp" ] && { [ -n "$extra" ] || [ ! -f ".venv/.installed-$hash-test" ]; }; then
  echo "[setup] installing dependencies (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  # The CPU build of torch lies on local disk; any other torch request would pull a CUDA build.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  spec="."
  [ -n "$extra" ] && spec=".[$extra]"
  .venv/bin/python -m pip install -q -c constraints.txt -e "$spec"
  find .venv -maxdepth 1 -name '.installed-*' ! -name ".installed-$hash*" -delete
  touch "$stamp"
fi
