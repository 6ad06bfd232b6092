#!/usr/bin/env bash
# The fit's round trip on several seeds, and its time beside the replay it runs:
#   scripts/compare-fit.sh [SEEDS...]   (default 1 2 3 4 5 6 7)
# For each seed, fixtures/scenarios/mix-poisson.toml with that seed is generated into a
# capture (`generate --scenario`), fitted (`fit --tier 10M`), the fitted scenario simulated for
# 900 s, and the capture replayed through the same tier. Printed: the fitted Erlangs and mean
# holding time against the truth (220, 5 s), the Poisson test's statistic, the classes' shares,
# and the fitted simulation's offered load, loss and calls active per second against the
# replay's (relative differences). Then, on the last capture: `fit` against `replay --json`
# (the analysis it starts from), wall time of each, three runs alternating.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=("${@:-1 2 3 4 5 6 7}")
read -r -a seeds <<<"${seeds[*]}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && cargo build --release -q --bin xconnect)
x="$root/target/release/xconnect"

printf '%-4s %8s %6s %6s  %-30s %22s %22s %22s\n' seed erlangs hold ks shares "offered Mbit/s sim/cap" "loss % sim/cap" "active/s sim/cap"
for seed in "${seeds[@]}"; do
  sed "s/^seed = .*/seed = $seed/" "$root/fixtures/scenarios/mix-poisson.toml" >"$work/s.toml"
  "$x" generate --scenario "$work/s.toml" -o "$work/c.pcap" 2>/dev/null
  "$x" fit "$work/c.pcap" --tier 10M -o "$work/f.toml" --json >"$work/fit.json" 2>/dev/null
  sed 's/^duration_s = .*/duration_s = 900/' "$work/f.toml" >"$work/long.toml"
  "$x" simulate "$work/long.toml" --json >"$work/sim.json"
  "$x" replay "$work/c.pcap" --tier 10M --interval 1s --json >"$work/rep.json"
  python3 - "$seed" "$work" <<'EOF'
import json, sys
seed, w = sys.argv[1], sys.argv[2]
fit = json.load(open(f"{w}/fit.json")); sim = json.load(open(f"{w}/sim.json")); rep = json.load(open(f"{w}/rep.json"))
p, site = rep["policer"], sim["sites"][0]
off = p["offered_bytes"] * 8 / rep["duration_s"] / 1e6
loss = 100 * p["dropped_frames"] / p["offered_frames"]
ca = rep["series"]["calls_active"]; act = sum(ca) / len(ca) / 2
sa = [sum(s["calls_active"]) / len(s["calls_active"]) for s in sim["series"]]
act_s = sum(sa) / len(sa)
rel = lambda a, b: f"{a:7.2f}/{b:7.2f} {100 * (a / b - 1):+5.1f}%"
shares = " ".join(f"{c['codec']}/{c['ptime_ms']}{'ss' if c['silence_suppression'] else ''}:{c['share']:.3f}" for c in fit["classes"])
print(f"{seed:<4} {fit['erlangs']:8.1f} {fit['mean_hold_s']:6.2f} {fit['arrivals']['test']['statistic']:6.3f}  {shares:<30} "
      f"{rel(site['offered_mbps'], off)} {rel(site['loss_pct'], loss)} {rel(act_s, act)}")
EOF
done

echo
echo "== time on the last capture ($(du -h "$work/c.pcap" | cut -f1)), three runs alternating"
for i in 1 2 3; do
  for cmd in "replay --json" "fit --tier 10M --json"; do
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$x" $cmd "$work/c.pcap" >/dev/null 2>&1
    printf '%-24s %.3f s\n' "$cmd" "$(echo "$(date +%s.%N) - $start" | bc)"
  done
done
