#!/usr/bin/env bash
# Runs one arrival pattern through the Linux kernel's token bucket and through xconnect's, and
# prints both pass/drop counts (and, for the shaper, delays) side by side.
#
# Pattern: N synchronized G.711 calls (default 120: one 214-byte frame per call every 20 ms,
# all calls at the same instant: 10.27 Mbit/s of 214-byte frames, bursts of 25,680 bytes) for S
# seconds. Topology, all created and removed here (root; nothing leaves the machine; RFC 5737
# documentation addresses only inside these namespaces):
#
#   [tx] xa ---- ra [router] rb ==(token bucket)==> xb [rx]
#
# tcpdump on `ra` records every arrival at the router; xconnect replays that capture through
# its policer/shaper (`replay --tier 10M`). The kernel side:
#   - `tc filter ... action police rate 10mbit burst B drop` on rb's egress, when the kernel has
#     act_police (CONFIG_NET_ACT_POLICE);
#   - always: `tc qdisc ... tbf rate 10mbit burst B limit L` on rb, a shaper with an L-byte
#     queue, compared with `xconnect replay --mode shape --buffer L`; departures are captured
#     on `xb`, so the delays are measured too.
#
# Usage: sudo scripts/compare-tc-police.sh [CALLS] [SECONDS] [BURST_BYTES] [LIMIT_BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-120}; secs=${2:-5}; burst=${3:-12500}; limit=${4:-25000}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces and tc)" >&2; exit 1; }
for t in ip tc tcpdump python3; do command -v $t >/dev/null || { echo "missing $t (scripts/install-deps.sh)" >&2; exit 1; }; done
cargo build --release -q -p xconnect
bin=$PWD/target/release/xconnect
id=$$; tx=xc-tx-$id; rt=xc-rt-$id; rx=xc-rx-$id; work=$(mktemp -d)
cleanup() { for n in "$tx" "$rt" "$rx"; do ip netns del "$n" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
for n in "$tx" "$rt" "$rx"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add xa netns "$tx" type veth peer name ra netns "$rt"
ip link add rb netns "$rt" type veth peer name xb netns "$rx"
ip -n "$tx" addr add 192.0.2.1/24 dev xa; ip -n "$rt" addr add 192.0.2.254/24 dev ra
ip -n "$rt" addr add 198.51.100.254/24 dev rb; ip -n "$rx" addr add 198.51.100.2/24 dev xb
for l in "$tx xa" "$rt ra" "$rt rb" "$rx xb"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$tx" route add default via 192.0.2.254; ip -n "$rx" route add default via 198.51.100.254
ip netns exec "$rt" sysctl -qw net.ipv4.ip_forward=1
# Static neighbours: no ARP frames in the pattern.
ip -n "$tx" neigh add 192.0.2.254 lladdr "$(ip -n "$rt" -br link show ra | awk '{print $3}')" dev xa
ip -n "$rt" neigh add 198.51.100.2 lladdr "$(ip -n "$rx" -br link show xb | awk '{print $3}')" dev rb

send() { # sends the pattern; payload = RTP-like header with the sequence number, 214-byte frames
  ip netns exec "$tx" python3 - "$calls" "$secs" <<'PY'
import socket, sys, time
calls, secs = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.1", 0))
start = time.perf_counter_ns() + 50_000_000
for tick in range(int(secs * 50)):
    due = start + tick * 20_000_000
    while time.perf_counter_ns() < due:
        pass
    hdr = bytes([0x80, 0]) + (tick & 0xffff).to_bytes(2, "big") + bytes(8)
    for c in range(calls):
        s.sendto(hdr + bytes([0xff]) * 160, ("198.51.100.2", 20000 + 2 * c))
PY
}

capture() { # $1 ns, $2 dev, $3 file
  ip netns exec "$1" tcpdump -i "$2" -n -s 0 --time-stamp-precision=nano -w "$3" udp >/dev/null 2>&1 &
  echo $!
}

run_case() { # $1 name; kernel qdisc/filter already configured on rb
  local a d
  a=$(capture "$rt" ra "$work/$1-arrivals.pcap"); d=$(capture "$rx" xb "$work/$1-departures.pcap")
  sleep 1; send; sleep 1
  kill -INT "$a" "$d"; wait "$a" "$d" 2>/dev/null || true
}

police_ok=0
if tc -n "$rt" qdisc add dev rb clsact 2>/dev/null &&
   tc -n "$rt" filter add dev rb egress protocol ip prio 1 u32 match u32 0 0 \
     action police rate 10mbit burst "$burst" drop 2>/dev/null; then
  police_ok=1
  run_case police
  police_stats=$(tc -n "$rt" -s filter show dev rb egress)
  tc -n "$rt" qdisc del dev rb clsact
else
  echo "This kernel has no tc police action (CONFIG_NET_ACT_POLICE is off and modules cannot be loaded):"
  echo "comparing the shaper only, against tbf."
  tc -n "$rt" qdisc del dev rb clsact 2>/dev/null || true
fi

tc -n "$rt" qdisc add dev rb root tbf rate 10mbit burst "$burst" limit "$limit"
run_case tbf
tbf_stats=$(tc -n "$rt" -s qdisc show dev rb)
echo "tbf statistics:"; echo "$tbf_stats" | sed 's/^/  /'

python3 - "$work" "$bin" "$burst" "$limit" "$police_ok" "${police_stats:-}" "$tbf_stats" "$calls" <<'PY'
import json, re, struct, subprocess, sys
work, binp, burst, limit, police_ok, police_stats, tbf_stats, calls = sys.argv[1:9]

def xc(pcap, *extra):
    out = subprocess.run([binp, "replay", pcap, "--tier", "10M", "--burst", burst, "--json", *extra],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)

def packets(pcap):
    """(dst port, seq) -> timestamp ns, for every UDP frame in a nanosecond pcap."""
    out = {}
    with open(pcap, "rb") as f:
        f.read(24)
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            sec, ns, cl, _ = struct.unpack("<IIII", h)
            d = f.read(cl)
            ihl = (d[14] & 15) * 4
            port = int.from_bytes(d[14 + ihl + 2:14 + ihl + 4], "big")
            seq = int.from_bytes(d[14 + ihl + 8 + 2:14 + ihl + 8 + 4], "big")
            out[(port, seq)] = sec * 1_000_000_000 + ns
    return out

ACCOUNTINGS = [("l2", 214), ("frame", 218), ("ip", 200)]

def row(name, passed, dropped, extra=""):
    print(f"{name:<52}{passed:>9}{dropped:>9}{100 * dropped / max(1, passed + dropped):>8.2f}%  {extra}")

print(f"\n{calls} synchronized G.711 calls (214-byte frames) into 10 Mbit/s, burst {burst} B")
print(f"{'':<52}{'passed':>9}{'dropped':>9}{'drop %':>9}")
if police_ok == "1":
    m = re.search(r"Sent \d+ bytes (\d+) pkt.*?dropped (\d+)", police_stats, re.S)
    sent, dropped = int(m.group(1)), int(m.group(2))
    row("Linux tc police (charges the 214-byte skb)", sent - dropped, dropped)
    for acc, b in ACCOUNTINGS:
        r = xc(f"{work}/police-arrivals.pcap", "--accounting", acc)["policer"]
        row(f"xconnect police, {acc} accounting ({b} B)", r["passed_frames"], r["dropped_frames"])

arr, dep = packets(f"{work}/tbf-arrivals.pcap"), packets(f"{work}/tbf-departures.pcap")
delays = sorted((dep[k] - arr[k]) / 1e6 for k in dep if k in arr)
q = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))] if delays else 0.0
m = re.search(r"Sent \d+ bytes (\d+) pkt \(dropped (\d+)", tbf_stats)
row(f"Linux tbf, limit {limit} B (charges 214 B)", len(dep), len(arr) - len(dep),
    f"delay ms p50 {q(0.5):.3f} p99 {q(0.99):.3f} max {delays[-1] if delays else 0:.3f}  (tc: sent {m.group(1)}, dropped {m.group(2)})")
for acc, b in ACCOUNTINGS:
    r = xc(f"{work}/tbf-arrivals.pcap", "--mode", "shape", "--buffer", limit, "--accounting", acc)["policer"]
    d = r["delay_ms"]
    row(f"xconnect shape, {acc} accounting ({b} B)", r["passed_frames"], r["dropped_frames"],
        f"delay ms p50 {d['p50']:.3f} p99 {d['p99']:.3f} max {d['max']:.3f}")
PY
