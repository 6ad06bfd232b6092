#!/usr/bin/env bash
# Installs the external tools the tests use (Debian packages): tshark (oracle for parsing and
# pcap validity) and tcpdump (for scripts/compare-replay.sh). Needs root; idempotent.
set -euo pipefail
need=()
command -v tshark >/dev/null || need+=(tshark)
command -v tcpdump >/dev/null || need+=(tcpdump)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
tshark --version | head -1
