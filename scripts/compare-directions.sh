#!/usr/bin/env bash
# The simulator before and after it simulated both directions, side by side in one run:
#   scripts/compare-directions.sh [OLD_REV]   (default 01de8f8, the last one-direction commit)
# 1. For every fixture scenario, the customer -> provider direction of today's report
#    (sites[i].directions.to_provider, failover[i] likewise) against the old report's site
#    (which simulated that direction only): every differing field is printed.
# 2. Speed per frame on the 10,500-call 1G scenario (60 s): wall time and frames/s of each,
#    one thread, alternating three times; then instructions per frame under cachegrind (5 s of
#    the same scenario), which do not depend on what else the machine is doing.
set -euo pipefail
old_rev=${1:-01de8f8}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$root" worktree add -q "$work/old" "$old_rev"
(cd "$work/old" && CARGO_TARGET_DIR="$work/old-target" cargo build --release -q --bin xconnect)
(cd "$root" && cargo build --release -q --bin xconnect)
old="$work/old-target/release/xconnect"
new="$root/target/release/xconnect"

echo "== customer -> provider: today's direction against the old one-direction report"
for f in "$root"/fixtures/scenarios/*.toml; do
  b=$(basename "$f" .toml)
  "$old" simulate "$f" --json >"$work/old-$b.json"
  "$new" simulate "$f" --json >"$work/new-$b.json"
  python3 - "$b" "$work/old-$b.json" "$work/new-$b.json" <<'EOF'
import json, sys
name, o, n = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
def diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in (
            [f"{path}.{k}: only in {'today' if k in b else 'old'}"] if (k in a) != (k in b) else diff(a[k], b[k], f"{path}.{k}"))]
    if isinstance(a, list) and isinstance(b, list):
        return ([f"{path}: {len(a)} vs {len(b)} rows"] if len(a) != len(b) else []) + \
            [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]
out = []
for key in ("sites", "failover"):
    for i, (x, y) in enumerate(zip(o[key], n[key])):
        leg = dict(y["directions"]["to_provider"])
        leg.pop("shaper_drops")  # new field, 0 when policing
        out += [f"{key}[{i}]{d}" for d in diff(x, leg)]
print(f"{name}: {len(out)} differing fields" + ("" if out else " (identical)"))
for d in out:
    print("   ", d)
EOF
done

echo
echo "== speed per frame: 10,500 calls on 1G for 60 s, one thread"
cat >"$work/1g.toml" <<'EOF'
name = "1G full: 10,500 calls"
seed = 1
duration_s = 60
[traffic]
codec = "g711u"
[link]
propagation_ms = 2.0
delay_variation_ms = 0.5
[[sites]]
name = "ashburn"
location = "ashburn"
tier = "1G"
calls = 10500
EOF
for _ in 1 2 3; do
  for which in old new; do
    bin=${!which}
    start=$(date +%s.%N)
    frames=$("$bin" simulate "$work/1g.toml" --threads 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames"])')
    end=$(date +%s.%N)
    python3 -c "print(f'$which: {$frames} frames in {$end - $start:.2f} s: {$frames / ($end - $start) / 1e6:.1f} M frames/s')"
  done
done
if command -v valgrind >/dev/null; then
  sed 's/duration_s = 60/duration_s = 5/' "$work/1g.toml" >"$work/1g5.toml"
  for which in old new; do
    bin=${!which}
    irefs=$(valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$bin" simulate "$work/1g5.toml" \
      --threads 1 --json 2>"$work/cg" >"$work/cg.json"; grep -o 'I *refs: *[0-9,]*' "$work/cg" | tr -dc 0-9)
    frames=$(python3 -c "import json; print(json.load(open('$work/cg.json'))['frames'])")
    python3 -c "print(f'$which: {$irefs:,} instructions for {$frames:,} frames: {$irefs / $frames:.1f} per frame')"
  done
fi
