#!/usr/bin/env bash
# Times `xconnect replay` against tshark's protocol hierarchy and tcpdump on the same capture,
# in one run, and prints frames/s and the ratios. Usage:
#   scripts/compare-replay.sh [FILE]      (default: `xconnect generate` of 1000 two-way G.711
#                                          calls on VLAN 100 for 20 s: 2,000,000 frames)
# Needs tshark and tcpdump (scripts/install-deps.sh). Each tool reads the page-cached file;
# the best of 3 runs counts. tshark is slow: it runs on a 1/10 prefix when the file is large,
# and its rate is computed on that prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p xconnect
bin=target/release/xconnect
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
file=${1:-}
if [ -z "$file" ]; then
  file=$work/gen.pcap
  "$bin" generate --calls 1000 --seconds 20 --both-directions --vlan 100 -o "$file" 2>/dev/null
fi
frames=$($bin replay "$file" --json --allow-truncated | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames"])')
best() { # best wall seconds of 3 runs of "$@"
  local b=999999
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    b=$(python3 -c "print(min($b, $e - $s))")
  done
  echo "$b"
}
cat "$file" > /dev/null  # page cache
x=$(best "$bin" replay "$file" --allow-truncated)
td=$(TZ=UTC best tcpdump -nr "$file")
tsfile=$file; tsframes=$frames
if [ "$frames" -gt 200000 ]; then
  tsframes=$((frames / 10))
  tsfile=$work/prefix.pcap
  # The first tenth of the frames: editcap would do, but keep to what is installed.
  python3 - "$file" "$tsfile" "$tsframes" <<'PY'
import struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src, 'rb') as f, open(dst, 'wb') as o:
    o.write(f.read(24))
    for _ in range(n):
        h = f.read(16); cl = struct.unpack('<I', h[8:12])[0]; o.write(h); o.write(f.read(cl))
PY
fi
ts=$(best tshark -n -r "$tsfile" -q -z io,phs)
python3 - "$frames" "$x" "$td" "$tsframes" "$ts" "$file" <<'PY'
import sys
frames, x, td, tsframes, ts, f = int(sys.argv[1]), *map(float, sys.argv[2:4]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
rx, rtd, rts = frames / x, frames / td, tsframes / ts
print(f"file: {f} ({frames} frames)")
print(f"{'tool':<34}{'seconds':>10}{'frames/s':>14}{'xconnect is':>14}")
print(f"{'xconnect replay':<34}{x:>10.3f}{rx:>14,.0f}{'1.0x':>14}")
print(f"{'tcpdump -nr (TZ=UTC)':<34}{td:>10.3f}{rtd:>14,.0f}{rx / rtd:>13.1f}x")
print(f"{'tshark -q -z io,phs':<34}{ts:>10.3f}{rts:>14,.0f}{rx / rts:>13.1f}x   ({tsframes} frames)")
PY
