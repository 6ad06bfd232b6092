#!/usr/bin/env bash
# The live lab: a scenario's calls through a real Linux shaper, side by side with the simulator.
#
#   [provider] p0 ──── e1 [edge: bridge, tbf on e0 at the tier] e0 ──── c0 [customer]
#
# Three network namespaces and two veth pairs, all created here and removed on exit (also on
# Ctrl-C); the bridge is Layer 2 like the cross-connect, so no address is configured anywhere
# and nothing touches the host's interfaces. On the edge, `tc qdisc … tbf` holds what goes to
# the customer to the site's tier with its burst and shaper queue (what the simulator's
# `egress = "shape"` models). Linux `tc … action police` would stand for the provider's
# ingress policer, where the kernel has it (CONFIG_NET_ACT_POLICE); the lab says whether it
# has, and compares the shaper in any case.
#
# The provider's side sends the site's calls with `xconnect generate --iface p0` (the
# scenario's calls, codec, packet time, phases, seed, duration); `xconnect replay --iface`
# analyzes them as they arrive at the edge (e1) and at the customer (c0), keeping both
# captures, from which every frame's delay through the shaper is measured (RTP SSRC and
# sequence number matched). Then `xconnect simulate` runs the same scenario, and the two are
# printed side by side: frames offered, passed and dropped, loss, delay percentiles, jitter.
#
# Usage: sudo scripts/live-lab.sh [SCENARIO.toml] [--json]
#   SCENARIO: one site with egress = "shape", accounting = "l2" (tbf charges the frame
#   without FCS), fixed calls [default: fixtures/scenarios/live-lab.toml].
#   --json: one JSON object (kernel, simulator, tolerances, within) instead of the table.
# Exit code: 0 when the kernel and the simulator agree within the tolerances (README, "The
# live lab"), 3 when they do not, 1 when the lab cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=fixtures/scenarios/live-lab.toml
json=0
for a in "$@"; do
  case "$a" in
    --json) json=1 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) scenario=$a ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "live-lab: needs root (network namespaces, veth, tc)" >&2; exit 1; }
for t in ip tc python3; do command -v $t >/dev/null || { echo "live-lab: missing $t (scripts/install-deps.sh)" >&2; exit 1; }; done
[ -f "$scenario" ] || { echo "live-lab: $scenario: no such scenario file" >&2; exit 1; }
if [ -z "${XCONNECT:-}" ]; then
  cargo build --release -q -p xconnect
  XCONNECT=$PWD/target/release/xconnect
fi
bin=$XCONNECT

# The scenario, checked by xconnect itself first, then what the lab needs of it.
"$bin" simulate "$scenario" --seconds 0.001 --json >/dev/null
eval "$(python3 - "$scenario" <<'PY'
import sys, tomllib
sc = tomllib.load(open(sys.argv[1], "rb"))
def die(m):
    print(f"echo 'live-lab: {sys.argv[1]}: {m}' >&2; exit 1"); sys.exit(0)
sites = sc.get("sites", [])
if len(sites) != 1: die("the lab runs one site; this scenario has %d" % len(sites))
s, t = sites[0], sc.get("traffic", {})
if s.get("egress") != "shape": die('the lab compares a shaper: the site needs egress = "shape"')
if s.get("accounting", "frame") != "l2": die('tbf charges the frame without FCS: the site needs accounting = "l2"')
if t.get("arrivals", "fixed") != "fixed": die('generate sends fixed calls: the scenario needs arrivals = "fixed"')
if "mix" in t: die("the lab sends one class of calls: the scenario needs codec, ptime_ms in [traffic], not [[traffic.mix]]")
rate = {"10M": 10_000_000, "100M": 100_000_000, "500M": 500_000_000, "1G": 1_000_000_000}[s["tier"]]
burst = s.get("burst_bytes", rate // 800)
limit = rate * s.get("shaper_queue_ms", 50) // 8000
args = ["--calls", str(s["calls"]), "--seconds", str(sc["duration_s"]), "--codec", t.get("codec", "g711u"),
        "--ptime", str(t.get("ptime_ms", 20)), "--phase", t.get("phase", "random"), "--seed", str(sc.get("seed", 1))]
if "vlan" in t: args += ["--vlan", str(t["vlan"])]
if t.get("silence_suppression"): args.append("--silence-suppression")
print(f"rate={rate} burst={burst} limit={limit} gen_args='{' '.join(args)}'")
PY
)"

id=$$; P=xl-p-$id; E=xl-e-$id; C=xl-c-$id; work=$(mktemp -d); pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in "$P" "$E" "$C"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for n in "$P" "$E" "$C"; do
  ip netns add "$n"
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$n" link set lo up
done
ip link add p0 netns "$P" type veth peer name e1 netns "$E"
ip link add e0 netns "$E" type veth peer name c0 netns "$C"
# No STP and no multicast snooping: the bridge itself sends nothing (with snooping on, it sends
# IGMP reports that cross tbf beside the calls).
ip -n "$E" link add br0 type bridge stp_state 0 mcast_snooping 0
ip -n "$E" link set e1 master br0; ip -n "$E" link set e0 master br0
for l in "$P p0" "$E e1" "$E e0" "$E br0" "$C c0"; do set -- $l; ip -n "$1" link set "$2" up; done
tc -n "$E" qdisc add dev e0 root tbf rate "${rate}bit" burst "$burst" limit "$limit"
police=no
if tc -n "$E" qdisc add dev e1 clsact 2>/dev/null &&
   tc -n "$E" filter add dev e1 ingress protocol all prio 1 matchall action police rate "${rate}bit" burst "$burst" drop 2>/dev/null; then
  police=yes; tc -n "$E" qdisc del dev e1 clsact
else
  tc -n "$E" qdisc del dev e1 clsact 2>/dev/null || true
fi

listen() { # $1 ns, $2 dev, $3 name
  ip netns exec "$1" "$bin" replay --iface "$2" --json --write "$work/$3.pcap" >"$work/$3.json" 2>"$work/$3.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$work/$3.err" 2>/dev/null && return; sleep 0.05; done
  cat "$work/$3.err" >&2; exit 1
}
listen "$E" e1 edge
listen "$C" c0 customer
# tbf's counts from here: what the links said when they came up is not the calls'.
tc -n "$E" -s qdisc show dev e0 >"$work/tc-before.txt"
# shellcheck disable=SC2086
ip netns exec "$P" "$bin" generate $gen_args --iface p0 --json >"$work/sent.json"
# A Ctrl-C stops the sender cleanly (exit 0, "ended": "stopped"), so bash does not see it.
grep -q '"ended":"done"' "$work/sent.json" || { echo "live-lab: interrupted, or the link went down" >&2; exit 130; }
sleep 0.5   # the shaper's queue drains (at most its limit at the tier's rate)
kill -INT "${pids[@]}"; wait "${pids[@]}" || true; pids=()
tc -n "$E" -s qdisc show dev e0 >"$work/tc.txt"
"$bin" simulate "$scenario" --json >"$work/sim.json"

python3 - "$work" "$json" "$police" "$scenario" <<'PY'
import json, re, struct, sys
work, as_json, police, scenario = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4]
sent = json.load(open(f"{work}/sent.json"))
edge, cust = json.load(open(f"{work}/edge.json")), json.load(open(f"{work}/customer.json"))
sim = json.load(open(f"{work}/sim.json"))["sites"][0]["directions"]["to_customer"]
def tc_counts(name):
    m = re.search(r"Sent (\d+) bytes (\d+) pkt \(dropped (\d+),", open(f"{work}/{name}").read())
    return int(m.group(2)), int(m.group(3))
(s0, d0), (s1, d1) = tc_counts("tc-before.txt"), tc_counts("tc.txt")
tc_sent, tc_dropped = s1 - s0, d1 - d0

def rtp_times(path):
    """(ssrc, seq) -> ns, for the RTP frames of a nanosecond pcap (Ethernet, 802.1Q, IPv4, UDP)."""
    out = {}
    with open(path, "rb") as f:
        f.read(24)
        while (h := f.read(16)) and len(h) == 16:
            sec, ns, cl, _ = struct.unpack("<IIII", h)
            d = f.read(cl)
            o = 14
            while d[o - 2:o] in (b"\x81\x00", b"\x88\xa8"):
                o += 4
            if d[o - 2:o] != b"\x08\x00" or d[o + 9] != 17:
                continue
            rtp = o + (d[o] & 15) * 4 + 8
            if len(d) >= rtp + 12 and d[rtp] >> 6 == 2:
                seq = int.from_bytes(d[rtp + 2:rtp + 4], "big")
                ssrc = int.from_bytes(d[rtp + 8:rtp + 12], "big")
                out[(ssrc, seq)] = sec * 1_000_000_000 + ns
    return out

arr, dep = rtp_times(f"{work}/edge.pcap"), rtp_times(f"{work}/customer.pcap")
delays = sorted((dep[k] - arr[k]) / 1e6 for k in dep if k in arr)
q = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))] if delays else None
jitter = lambda r: (sum(s["mean_jitter_ms"] for s in r["rtp_streams"]) / len(r["rtp_streams"])) if r["rtp_streams"] else None
offered, passed = edge["frames"], cust["frames"]
kernel = {
    "frames_sent": sent["frames"], "sender_pacing_error_us": sent["pacing_error_us"],
    "offered_frames": offered, "passed_frames": passed, "dropped_frames": offered - passed,
    "loss_pct": 100 * (offered - passed) / offered if offered else 0.0,
    "tc_sent": tc_sent, "tc_dropped": tc_dropped,
    "kernel_socket_drops": edge["live"]["kernel_drops"] + cust["live"]["kernel_drops"],
    "delay_ms": {"p50": q(0.5), "p99": q(0.99), "max": delays[-1] if delays else None},
    "mean_jitter_ms": jitter(cust), "mean_jitter_ms_at_edge": jitter(edge),
}
simulated = {
    "offered_frames": sim["offered_frames"], "passed_frames": sim["passed_frames"],
    "dropped_frames": sim["dropped_frames"], "loss_pct": sim["loss_pct"],
    "delay_ms": sim["delay_ms"], "mean_jitter_ms": sim["mean_jitter_ms"],
}
# What "the same" means here (README, "The live lab"): one shaper each, fed the same calls
# with independent random phases and the sender's own pacing error.
tolerance = {"loss_pct_points": 1.0, "delay_p50_ms": max(2.0, 0.1 * (sim["delay_ms"]["p50"] or 0))}
within = {
    "offered": offered == sim["offered_frames"] == sent["frames"],
    "loss": abs(kernel["loss_pct"] - simulated["loss_pct"]) <= tolerance["loss_pct_points"],
    "delay_p50": kernel["delay_ms"]["p50"] is not None
        and abs(kernel["delay_ms"]["p50"] - sim["delay_ms"]["p50"]) <= tolerance["delay_p50_ms"],
}
code = 0 if all(within.values()) else 3
if as_json:
    print(json.dumps({"scenario": scenario, "kernel_police": police == "yes", "kernel": kernel,
                      "simulated": simulated, "tolerance": tolerance, "within": within}))
    sys.exit(code)
f = lambda x, d=3: "-" if x is None else f"{x:.{d}f}"
print(f"\n{scenario}: the provider -> customer leg through the edge's shaper")
print(f"sender: {sent['frames']} frames in {sent['seconds']:.3f} s, pacing error p50 {sent['pacing_error_us']['p50']:.1f} us, "
      f"p99 {sent['pacing_error_us']['p99']:.1f} us; analyzers' socket drops: {kernel['kernel_socket_drops']}")
print(f"{'':<28}{'Linux tbf':>16}{'xconnect simulate':>20}")
rows = [
    ("frames offered", offered, sim["offered_frames"]),
    ("frames passed", passed, sim["passed_frames"]),
    ("frames dropped", offered - passed, sim["dropped_frames"]),
    ("loss %", f(kernel["loss_pct"]), f(sim["loss_pct"])),
    ("delay p50 ms", f(kernel["delay_ms"]["p50"]), f(sim["delay_ms"]["p50"])),
    ("delay p99 ms", f(kernel["delay_ms"]["p99"]), f(sim["delay_ms"]["p99"])),
    ("delay max ms", f(kernel["delay_ms"]["max"]), f(sim["delay_ms"]["max"])),
    ("mean jitter ms", f(kernel["mean_jitter_ms"]), f(sim["mean_jitter_ms"])),
]
for name, a, b in rows:
    print(f"{name:<28}{a:>16}{b:>20}")
print(f"(tc's own count: sent {tc_sent}, dropped {tc_dropped}; jitter as the frames reached the edge, before the shaper: "
      f"{f(kernel['mean_jitter_ms_at_edge'])} ms)")
print("within tolerance: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in within.items()))
if police != "yes":
    print("this kernel has no tc police action (CONFIG_NET_ACT_POLICE): the ingress policer is not compared here")
sys.exit(code)
PY
