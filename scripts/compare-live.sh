#!/usr/bin/env bash
# Sending and receiving on a live port, xconnect beside its peers, in one run: a veth pair
# between two network namespaces (made here, removed on exit), one capture of G.711 calls
# sent across it
#   - at its own times: `xconnect replay FILE --to-iface` and `tcpreplay` (the peer);
#   - as fast as each can: `xconnect replay FILE --to-iface --speed 1000000` and
#     `tcpreplay --topspeed`;
# and received on the far side by `xconnect replay --iface` (the whole analysis) or by
# `tshark -i` (writing nothing, `-q`), each reporting what it got and what the kernel dropped.
#
# Usage: sudo scripts/compare-live.sh [CALLS] [SECONDS]   (default 2500 calls both ways, 4 s:
# 500,000 frames at 125,000 frames/s)
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-2500}; secs=${2:-4}
[ "$(id -u)" = 0 ] || { echo "compare-live: needs root (network namespaces)" >&2; exit 1; }
for t in ip tcpreplay tshark; do command -v $t >/dev/null || { echo "compare-live: missing $t (apt-get install $t)" >&2; exit 1; }; done
cargo build --release -q -p xconnect
bin=$PWD/target/release/xconnect
id=$$; A=xcl-a-$id; B=xcl-b-$id; work=$(mktemp -d)
cleanup() { for n in "$A" "$B"; do ip netns del "$n" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
for n in "$A" "$B"; do
  ip netns add "$n"; ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add va netns "$A" type veth peer name vb netns "$B"
ip -n "$A" link set va up; ip -n "$B" link set vb up; sleep 1
"$bin" generate --calls "$calls" --seconds "$secs" --both-directions -o "$work/calls.pcap" 2>/dev/null
frames=$(tshark -r "$work/calls.pcap" -q -z io,stat,0 2>/dev/null | awk '/<>/ {print $6; exit}')
echo "$frames frames of $calls calls both ways over $secs s ($((frames / secs)) frames/s at their own times)"

rx_xconnect() { ip netns exec "$B" "$bin" replay --iface vb --json >"$work/rx.json" 2>"$work/rx.err" & rx=$!
  until grep -q listening "$work/rx.err" 2>/dev/null; do sleep 0.05; done; }
rx_tshark() { ip netns exec "$B" tshark -i vb -q -z io,stat,0 >"$work/rx.txt" 2>"$work/rx.err" & rx=$!
  until grep -q "Capturing on" "$work/rx.err" 2>/dev/null; do sleep 0.05; done; sleep 0.5; }
stop_rx() { sleep 0.5; kill -INT "$rx"; wait "$rx" || true; }
got() { # frames received and kernel drops
  if [ -s "$work/rx.json" ]; then python3 -c "import json; r=json.load(open('$work/rx.json')); print(r['frames'], r['live']['kernel_drops'])"
  else awk '/<>/ {f=$6} END {printf "%s ", f}' "$work/rx.txt"; # tshark names its drops only when there are some
    grep -o "[0-9]* packets dropped" "$work/rx.err" | awk '{s += $1} END {print s + 0}'; fi; }
printf "%-52s %10s %12s %12s %10s %10s\n" sender seconds frames/s "p99 late µs" received "rx drops"
run() { # $1 label, $2 receiver, rest: the sender's command
  local label=$1 recv=$2; shift 2
  rm -f "$work/rx.json" "$work/rx.txt"; "rx_$recv"
  local t0 t1 out; t0=$(date +%s.%N); out=$(ip netns exec "$A" "$@" 2>"$work/tx.err"); t1=$(date +%s.%N)
  stop_rx
  local p99="-"
  if [[ "$out" == *'"pacing_error_us"'* ]]; then p99=$(python3 -c "import json,sys; print(round(json.loads(sys.argv[1])['pacing_error_us']['p99'],1))" "$out"); fi
  local secs_taken; secs_taken=$(python3 -c "print(f'{$t1-$t0:.3f}')")
  read -r r d <<<"$(got)"
  printf "%-52s %10s %12.0f %12s %10s %10s\n" "$label -> $recv" "$secs_taken" "$(python3 -c "print($frames/($t1-$t0))")" "$p99" "$r" "$d"
}
for recv in xconnect tshark; do
  run "xconnect replay --to-iface (own times)" $recv "$bin" replay "$work/calls.pcap" --to-iface va --json
  run "tcpreplay (own times)" $recv tcpreplay -q -i va "$work/calls.pcap"
  run "xconnect replay --to-iface --speed 1000000" $recv "$bin" replay "$work/calls.pcap" --to-iface va --speed 1000000 --json
  run "tcpreplay --topspeed" $recv tcpreplay -q -t -i va "$work/calls.pcap"
done
