#!/usr/bin/env python3
"""xconnect bgp against BIRD at full-table scale, side by side in one run, on loopback.

    scripts/bgp-scale.py N [--binary PATH] [--events summary]

One BIRD (the feeder) originates N distinct /24s (45.0.0.0 upwards: no special-purpose block)
and exports them over eBGP twice: to `xconnect bgp --role provider --json-events` (events to a
file) and to a second BIRD (the peer a network engineer would otherwise run). For each
receiver it prints the ingest time (first to last route in, from xconnect's event times; for
BIRD by polling `birdc show route count`), the CPU it used, its resident memory and memory per
prefix; then the feeder withdraws everything (`disable s4`) and the same for the withdrawal,
with the memory left afterwards. Needs bird and birdc (scripts/install-deps.sh installs them).
Everything stays on 127.0.0.0/8 and is killed at the end.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
BIN = sys.argv[sys.argv.index("--binary") + 1] if "--binary" in sys.argv else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "xconnect")
EXTRA = ["--events", sys.argv[sys.argv.index("--events") + 1]] if "--events" in sys.argv else []
FEED, XC, B2 = "127.0.0.61", "127.0.0.62", "127.0.0.63"
work = tempfile.mkdtemp(prefix="bgp-scale-")


def rss(pid, key="VmRSS"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def birdc(ctl, cmd):
    return subprocess.run(["birdc", "-s", ctl, cmd], capture_output=True, text=True).stdout


def bird_routes(ctl):
    out = birdc(ctl, "show route count")
    for word in out.split():
        if word.isdigit():
            return int(word)
    return 0


routes = "".join(f"route {45 + i // 65536}.{(i // 256) % 256}.{i % 256}.0/24 unreachable;\n" for i in range(N))
open(f"{work}/feed.conf", "w").write(f"""router id {FEED};
protocol device {{}}
protocol static s4 {{ ipv4; {routes} }}
protocol bgp xc {{
  disabled;
  local {FEED} port 17961 as 64512; neighbor {XC} port 17962 as 65000;
  multihop; hold time 90; connect delay time 1; connect retry time 1;
  ipv4 {{ import none; export where proto = "s4"; }};
}}
protocol bgp b2 {{
  disabled;
  local {FEED} port 17961 as 64512; neighbor {B2} port 17963 as 65001;
  multihop; hold time 90; connect delay time 1; connect retry time 1;
  ipv4 {{ import none; export where proto = "s4"; }};
}}
""")
open(f"{work}/b2.conf", "w").write(f"""router id {B2};
protocol device {{}}
protocol bgp feed {{
  local {B2} port 17963 as 65001; neighbor {FEED} port 17961 as 64512;
  multihop; hold time 90; connect delay time 1; connect retry time 1;
  ipv4 {{ import all; export none; }};
}}
""")
events = open(f"{work}/events.jsonl", "wb")
xc = subprocess.Popen([BIN, "bgp", "--role", "provider", "--local", f"{XC}:17962", "--peer", f"{FEED}:17961",
                       "--asn", "65000", "--peer-asn", "64512", "--passive", "--max-prefixes", str(N + 10),
                       "--json-events"] + EXTRA, stdin=subprocess.PIPE, stdout=events, stderr=subprocess.DEVNULL)
b2 = subprocess.Popen(["bird", "-f", "-c", f"{work}/b2.conf", "-s", f"{work}/b2.ctl"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(0.5)
xc_base, b2_base = rss(xc.pid), rss(b2.pid)
feed = subprocess.Popen(["bird", "-f", "-c", f"{work}/feed.conf", "-s", f"{work}/feed.ctl"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
# The feeder's table is complete before either session starts; then both start together.
while bird_routes(f"{work}/feed.ctl") < N:
    time.sleep(0.1)
birdc(f"{work}/feed.ctl", "enable xc")
birdc(f"{work}/feed.ctl", "enable b2")


class Events:
    """xconnect's event file, read as it grows: counts and the time of the last route event."""

    def __init__(self):
        self.pos, self.rest, self.accepted, self.withdrawn, self.first, self.last = 0, b"", 0, 0, None, None

    def scan(self):
        with open(f"{work}/events.jsonl", "rb") as f:
            f.seek(self.pos)
            data = f.read()
        self.pos += len(data)
        *lines, self.rest = (self.rest + data).split(b"\n")
        for line in lines:
            kind = (b'"accepted' in line and "a") or (b'"withdrawn' in line and "w")
            if not kind:
                continue
            v = json.loads(line)
            t, n = v["t"], v.get("count", 1)
            self.first = t if self.first is None else self.first
            self.last = t
            if kind == "a":
                self.accepted += n
            else:
                self.withdrawn += n


ev = Events()
b2_first = b2_last = None
deadline = time.time() + 600
while time.time() < deadline:
    ev.scan()
    n2 = bird_routes(f"{work}/b2.ctl")
    now = time.time()
    if n2 and b2_first is None:
        b2_first = now
    if n2 >= N and b2_last is None:
        b2_last = now
    if ev.accepted >= N and b2_last is not None:
        break
    time.sleep(0.02)
print(f"{N} prefixes in")
print(f"  xconnect: {ev.last - ev.first:.2f} s (event times), CPU {cpu(xc.pid):.2f} s, RSS {rss(xc.pid) / 1e6:.1f} MB, "
      f"{(rss(xc.pid) - xc_base) / N:.0f} B per prefix, peak {rss(xc.pid, 'VmHWM') / 1e6:.1f} MB")
print(f"  BIRD:     {b2_last - b2_first:.2f} s (polled every 20 ms), CPU {cpu(b2.pid):.2f} s, "
      f"RSS {rss(b2.pid) / 1e6:.1f} MB, {(rss(b2.pid) - b2_base) / N:.0f} B per prefix, peak {rss(b2.pid, 'VmHWM') / 1e6:.1f} MB")
xc_cpu, b2_cpu = cpu(xc.pid), cpu(b2.pid)
ev.first = None
birdc(f"{work}/feed.ctl", "disable s4")
t0, b2_gone = time.time(), None
while time.time() < deadline:
    ev.scan()
    if b2_gone is None and bird_routes(f"{work}/b2.ctl") == 0:
        b2_gone = time.time()
    if ev.withdrawn >= N and b2_gone is not None:
        break
    time.sleep(0.02)
time.sleep(0.5)
print(f"{N} prefixes withdrawn")
print(f"  xconnect: {ev.last - ev.first:.2f} s, CPU {cpu(xc.pid) - xc_cpu:.2f} s, RSS after {rss(xc.pid) / 1e6:.1f} MB")
print(f"  BIRD:     {b2_gone - t0:.2f} s (from the feeder's disable), CPU {cpu(b2.pid) - b2_cpu:.2f} s, "
      f"RSS after {rss(b2.pid) / 1e6:.1f} MB")
for p in (feed, b2):
    p.terminate()
xc.stdin.write(b"shutdown\n")
xc.stdin.flush()
xc.wait(10)
for p in (feed, b2):
    p.wait(10)
