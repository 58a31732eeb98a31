#!/usr/bin/env bash
# The whole test suite: set up (with test tools), run the lint/format/type gates, install Chromium for
# the browser tests, start a real Chroma server on 127.0.0.1 for the server-mode tests, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# Debian packages for the browser tests: Chromium, poppler (PDF page images), a Japanese font.
need=""
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v pdftoppm >/dev/null 2>&1 || need="$need poppler-utils"
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need="$need fonts-noto-cjk"
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[test] installing Debian packages:$need" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null) \
      || echo "[test] could not install$need: the tests that need them will be skipped" >&2
  else
    echo "[test] missing$need and not root: the tests that need them will be skipped" >&2
  fi
fi
# Gates before the tests: lint, formatting, and strict typing of the core library and the ingest pipeline
# (configuration in pyproject.toml: [tool.ruff], [tool.mypy] with the pydantic plugin).
echo "[test] ruff check, ruff format --check, mypy --strict (assistant/, ingest/)" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
workdir="$(mktemp -d)"
port="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
.venv/bin/chroma run --path "$workdir/chroma" --host 127.0.0.1 --port "$port" >"$workdir/chroma.log" 2>&1 &
chroma_pid=$!
trap 'kill $chroma_pid 2>/dev/null || true; rm -rf "$workdir"' EXIT
for _ in $(seq 1 60); do
  if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/api/v2/heartbeat', timeout=1)" 2>/dev/null; then
    export DXA_TEST_CHROMA_URL="http://127.0.0.1:$port"
    break
  fi
  sleep 1
done
[ -n "${DXA_TEST_CHROMA_URL:-}" ] || { echo "[test] Chroma server did not start:" >&2; cat "$workdir/chroma.log" >&2; exit 1; }
export ANONYMIZED_TELEMETRY=False
.venv/bin/python -m pytest "$@"
