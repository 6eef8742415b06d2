#!/usr/bin/env bash
# Idempotent set-up: a venv in .venv with jobgate installed editable.
# A second run reuses the venv and skips pip when pyproject.toml is unchanged
# (a dev install also counts for a plain one). pip's output goes to a log
# that is printed only when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
py="${PYTHON:-python3}"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
stamp=".venv/.jobgate-installed${extras:+-$extras}"

stamps=("$stamp")
[ -n "$extras" ] || stamps+=(".venv/.jobgate-installed-dev")  # dev includes the plain install

installed() {  # a stamp of this pyproject.toml that covers what was asked for
  local s
  for s in "${stamps[@]}"; do
    [ -f "$s" ] && [ "$(cat "$s")" = "$want" ] && return 0
  done
  return 1
}

if [ -x .venv/bin/python ] && installed; then
  exit 0
fi

log="$(mktemp "${TMPDIR:-/tmp}/jobgate-setup.XXXXXX")"
quietly() {  # run "$@" with its output in the log; show the log only if it fails
  if ! "$@" >>"$log" 2>&1; then
    cat "$log" >&2
    echo "setup failed: $* (its output is above and in $log)" >&2
    exit 1
  fi
}

echo "setting up .venv${extras:+ with [$extras]} (once; later starts skip this)" >&2
if [ ! -x .venv/bin/python ]; then
  quietly "$py" -m venv .venv
  quietly .venv/bin/python -m pip install --upgrade pip
fi
quietly .venv/bin/python -m pip install -e ".${extras:+[$extras]}"
echo "$want" > "$stamp"
rm -f "$log"
