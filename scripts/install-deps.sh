#!/usr/bin/env bash
# Installs the external tools the tests use (Debian packages): tshark (oracle for parsing and
# pcap validity), tcpdump (for scripts/compare-replay.sh), bird2 (a real BGP peer for the
# interop tests; only its binaries are used, the packaged service is not started), chromium
# (renders the HTML reports in the browser test, headless), iproute2 (ip and tc: the live-port
# tests' network namespaces, veth pairs and tbf), python3 (the live lab's frame matching) and
# setpriv (util-linux: a run without CAP_NET_RAW). Needs root; idempotent.
set -euo pipefail
need=()
command -v tshark >/dev/null || need+=(tshark)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v bird >/dev/null || need+=(bird2)
command -v chromium >/dev/null || need+=(chromium)
command -v ip >/dev/null && command -v tc >/dev/null || need+=(iproute2)
command -v python3 >/dev/null || need+=(python3)
command -v setpriv >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
tshark --version | head -1
bird --version 2>&1 | head -1
chromium --version 2>/dev/null | head -1
tc -V
