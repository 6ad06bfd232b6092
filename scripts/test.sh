#!/usr/bin/env bash
# The README's test command: every test of the workspace (unit, integration, doc). On a fresh
# machine, as root, it first installs what the tests need (tshark, tcpdump, BIRD, Chromium: see
# scripts/install-deps.sh, which does nothing when they are there); not as root, it says what
# is missing, and the tests that need it fail under CI=true and skip loudly elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  scripts/install-deps.sh
else
  for tool in tshark bird chromium; do
    command -v "$tool" >/dev/null || echo "test.sh: $tool is missing and this is not root: run scripts/install-deps.sh as root" >&2
  done
fi
exec cargo test --workspace "$@"
