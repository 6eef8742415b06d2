#!/usr/bin/env bash
# Set up (once) and run jobgate: API, workers and demo page on an embedded Valkey.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/jobgate up "$@"
