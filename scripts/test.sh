#!/usr/bin/env bash
# The README's test command: every test of the workspace (unit, integration, doc).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace "$@"
