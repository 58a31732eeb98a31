#!/usr/bin/env bash
# The main job: set up, index the bundled corpus into the default embedded store, open the UI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/dxa ingest --corpus
# First start: no user can log in yet, so create an administrator with a random password, shown once.
if .venv/bin/dxa user list --json | .venv/bin/python -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["users"] else 1)'; then
  :
else
  password="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')"
  printf '%s\n' "$password" | .venv/bin/dxa user add admin --role admin >/dev/null
  echo "初回起動: 管理者ユーザー admin を作成しました。パスワード: $password （ログイン後、dxa user passwd admin で変更してください）"
fi
exec .venv/bin/dxa ui "$@"
