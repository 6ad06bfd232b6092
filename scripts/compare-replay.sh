#!/usr/bin/env bash
# Times `xconnect replay` (on 1 thread and on every core) against tshark's protocol hierarchy and
# tcpdump on the same whole capture, in one run, and prints frames/s and the ratios. Usage:
#   scripts/compare-replay.sh [FILE] [RUNS]
#     FILE  default: `xconnect generate --calls 1000 --seconds 20 --both-directions --vlan 100`,
#           2,000,000 G.711 frames in 2000 RTP streams (468 MB)
#     RUNS  runs of each tool, the best counts (default 3; 1 to 20)
# Needs tshark and tcpdump (scripts/install-deps.sh). Every tool reads the whole page-cached
# file; xconnect analyzes every RTP stream, SIP, flows and checksums on the way.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${2:-3}
if ! [[ "$runs" =~ ^[0-9]+$ ]] || [ "$runs" -lt 1 ] || [ "$runs" -gt 20 ]; then
  echo "compare-replay.sh: RUNS '$runs': expected a whole number from 1 to 20" >&2
  exit 2
fi
for tool in tshark tcpdump python3; do
  command -v "$tool" >/dev/null || { echo "compare-replay.sh: $tool is not installed (scripts/install-deps.sh)" >&2; exit 2; }
done
cargo build --release -q -p xconnect
bin=target/release/xconnect
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
file=${1:-}
if [ -z "$file" ]; then
  file=$work/gen.pcap
  "$bin" generate --calls 1000 --seconds 20 --both-directions --vlan 100 -o "$file" 2>/dev/null
elif [ ! -f "$file" ]; then
  echo "compare-replay.sh: $file: not a regular file" >&2
  exit 2
fi
frames=$("$bin" replay "$file" --json --allow-truncated | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames"])')
best() { # best wall seconds of $runs runs of "$@"
  local b=999999
  for _ in $(seq "$runs"); do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    b=$(python3 -c "print(min($b, $e - $s))")
  done
  echo "$b"
}
cat "$file" > /dev/null  # page cache
cores=$(nproc)
x1=$(best "$bin" replay "$file" --allow-truncated --threads 1)
xn=$(best "$bin" replay "$file" --allow-truncated --threads "$cores")
td=$(TZ=UTC best tcpdump -nr "$file")
ts=$(best tshark -n -r "$file" -q -z io,phs)
python3 - "$frames" "$x1" "$xn" "$td" "$ts" "$file" "$cores" "$runs" <<'PY'
import sys
frames = int(sys.argv[1])
x1, xn, td, ts = map(float, sys.argv[2:6])
f, cores, runs = sys.argv[6], int(sys.argv[7]), sys.argv[8]
print(f"file: {f} ({frames} frames, whole file for every tool, best of {runs})")
print(f"{'tool':<36}{'seconds':>10}{'frames/s':>14}{'xconnect (all cores) is':>26}")
rows = [(f"xconnect replay --threads {cores}", xn), ("xconnect replay --threads 1", x1),
        ("tcpdump -nr (TZ=UTC)", td), ("tshark -q -z io,phs", ts)]
for name, t in rows:
    print(f"{name:<36}{t:>10.3f}{frames / t:>14,.0f}{t / xn:>25.1f}x")
PY
