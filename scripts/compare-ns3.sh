#!/usr/bin/env bash
# xconnect against ns-3 on the same scenario: N G.711/20 ms calls at random phase over a
# 1 Gbps link into a 10 Mbit/s token bucket (burst 12,500 bytes), for S seconds, for several N
# around the tier's capacity. Prints loss side by side and the wall-time ratio.
#
# Installs Debian's ns-3 (libns3-dev) when missing (root), builds scripts/ns3/g711-tier.cc.
# What each counts against the rate (reference/ns3-notes.md): ns-3's TbfQueueDisc charges the
# 200-byte IP packet; xconnect's policer charges the 218-byte Ethernet frame with FCS as MEF
# does, and is run both ways here (--accounting ip reproduces ns-3's unit).
#
# Usage: scripts/compare-ns3.sh [SECONDS] [CALLS...]     (default: 10 s, 113 114 115 124 125 126 200)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; shift || true
calls=("$@"); [ ${#calls[@]} -gt 0 ] || calls=(113 114 115 124 125 126 200)
mods="ns3-core ns3-network ns3-internet ns3-applications ns3-csma ns3-point-to-point ns3-traffic-control"
if ! pkg-config --exists $mods 2>/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "ns-3 is missing and installing it needs root" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq libns3-dev g++ pkg-config libgsl-dev libsqlite3-dev >/dev/null
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# The .pc files carry a stray "-I/usr;" token, and the library is built with NS3_LOG_ENABLE.
cflags=$(pkg-config --cflags $mods | tr ' ' '\n' | grep -v '^-I/usr[\\;]' | tr '\n' ' ')
g++ -O2 -std=c++17 -DNS3_LOG_ENABLE $cflags -o "$work/g711-tier" scripts/ns3/g711-tier.cc $(pkg-config --libs $mods)
cargo build --release -q -p xconnect
bin=target/release/xconnect

scenario() { # $1 calls, $2 accounting
  cat > "$work/s.toml" <<TOML
name = "ns-3 comparison"
duration_s = $secs
[traffic]
codec = "g711u"
[link]
propagation_ms = 0.0
[[sites]]
name = "tier"
location = "ashburn"
tier = "10M"
burst_bytes = 12500
accounting = "$2"
calls = $1
TOML
  echo "$work/s.toml"
}

printf '%-7s | %-26s | %-26s | %-26s | %s\n' calls "ns-3 (TBF, 200 B IP)" "xconnect --accounting ip" "xconnect frame (218 B)" "wall: ns-3 / xconnect"
for n in "${calls[@]}"; do
  read -r _ sent recv ns3_wall < <("$work/g711-tier" "$n" "$secs" 10000000 12500 100 1)
  x_ip=$("$bin" simulate "$(scenario "$n" ip)" --json --threads 1)
  t0=$(date +%s.%N)
  x_fr=$("$bin" simulate "$(scenario "$n" frame)" --json --threads 1)
  t1=$(date +%s.%N)
  python3 - "$n" "$sent" "$recv" "$ns3_wall" "$x_ip" "$x_fr" "$t0" "$t1" <<'PY'
import json, sys
n, sent, recv, ns3_wall = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ip, fr = json.loads(sys.argv[5])["sites"][0], json.loads(sys.argv[6])["sites"][0]
x_wall = float(sys.argv[8]) - float(sys.argv[7])
cell = lambda off, lost: f"{lost:>7} lost of {off:<8} {100 * lost / max(1, off):5.2f}%"
print(f"{n:<7} | {cell(sent, sent - recv)} | {cell(ip['offered_frames'], ip['dropped_frames'])} | "
      f"{cell(fr['offered_frames'], fr['dropped_frames'])} | {ns3_wall:.3f} s / {x_wall:.3f} s = {ns3_wall / x_wall:.0f}x")
PY
done
echo "xconnect's wall time includes process start and JSON output; ns-3's is Simulator::Run alone."
