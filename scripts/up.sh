#!/usr/bin/env bash
# Set up (once) and run jobgate: API, workers and demo page on an embedded Valkey.
# The set-up is quiet unless it fails; `jobgate up` ends its banner with the
# URL, the token and how to stop it (Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/jobgate up "$@"
