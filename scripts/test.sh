#!/usr/bin/env bash
# Set up (once) and run every check: lint, types, the Python suites (unit,
# integration, e2e, browser, proxy, chaos, and the TypeScript client's own
# suite, which tests/js runs with npm).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh dev

# System packages the browser, proxy and history tests need (Debian's chromium,
# nginx, postgresql).
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v busybox >/dev/null 2>&1 || need+=(busybox)  # the frontend image's sh and awk
command -v gawk >/dev/null 2>&1 || need+=(gawk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)  # tests/history
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
