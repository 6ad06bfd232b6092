#!/usr/bin/env bash
# Installs the external tools the tests use (Debian packages): tshark (oracle for parsing and
# pcap validity), tcpdump (for scripts/compare-replay.sh), bird2 (a real BGP peer for the
# interop tests; only its binaries are used, the packaged service is not started) and chromium
# (renders the HTML reports in the browser test, headless). Needs root; idempotent.
set -euo pipefail
need=()
command -v tshark >/dev/null || need+=(tshark)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v bird >/dev/null || need+=(bird2)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
tshark --version | head -1
bird --version 2>&1 | head -1
chromium --version 2>/dev/null | head -1
