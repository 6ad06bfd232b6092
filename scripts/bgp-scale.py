#!/usr/bin/env python3
"""xconnect bgp against BIRD at full-table scale, one after the other in one run, on loopback.

    scripts/bgp-scale.py N [--binary PATH] [--events summary] [--order shuffled|sorted] [--runs K]

Each receiver, `xconnect bgp --role provider --json-events` (events to a file) and BIRD (the
daemon a network engineer would otherwise run), is fed by a minimal BGP speaker in this
script: N distinct /24s (45.0.0.0 upwards: no special-purpose block) in 4,096-byte UPDATEs,
sent as fast as the receiver's TCP window takes them, in a shuffled order by default (as a
BIRD feeder exports its table: by hash) or sorted. The receivers run one after the other, not
at once. (A BIRD feeder was tried: feeding two sessions, or even one, it held the last UPDATE
back for about 3 s, seen in a packet capture, which timed the feeder instead of the receiver.)

For each receiver: the ingest time (from the feeder's first byte until the receiver holds all N
routes: xconnect's event stream scanned, BIRD's import counter polled, both every 20 ms), the
CPU it used, its resident memory and memory per prefix; then the feeder withdraws everything
and the same for the withdrawal, with the memory left a second and a half later; and the
longest wait for a keepalive on a second session (hold time 3 s: one every second) during the
feed and the withdrawal. The median of K runs, and the ratios xconnect / BIRD.
Needs bird and birdc (scripts/install-deps.sh installs them). Everything stays on 127.0.0.0/8
and is killed at the end.
"""
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import tempfile
import time

def whole(text, what, low, high):
    """A whole number from the command line, within [low, high], or a clear exit."""
    try:
        v = int(text)
    except ValueError:
        sys.exit(f"bgp-scale: {what} `{text}`: expected a whole number from {low:,} to {high:,}")
    if not low <= v <= high:
        sys.exit(f"bgp-scale: {what} {v:,}: expected a whole number from {low:,} to {high:,}")
    return v


N = whole(sys.argv[1], "N (prefixes)", 1, 10_000_000) if len(sys.argv) > 1 else 100_000
BIN = sys.argv[sys.argv.index("--binary") + 1] if "--binary" in sys.argv else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "xconnect")
EXTRA = ["--events", sys.argv[sys.argv.index("--events") + 1]] if "--events" in sys.argv else []
ORDER = sys.argv[sys.argv.index("--order") + 1] if "--order" in sys.argv else "shuffled"
if ORDER not in ("shuffled", "sorted"):
    sys.exit(f"bgp-scale: --order {ORDER}: expected shuffled or sorted")
XC, B2 = "127.0.0.62", "127.0.0.63"
work = tempfile.mkdtemp(prefix="bgp-scale-")
DEADLINE = time.time() + 900


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


def wait(what, done):
    while not done():
        if time.time() > DEADLINE:
            sys.exit(f"bgp-scale: gave up waiting for {what}")
        time.sleep(0.02)


class Feeder:
    """A minimal BGP speaker (AS 64512) that sends N /24s to one receiver as fast as TCP takes them.

    The UPDATEs are built before the session starts, 1,013 prefixes in each 4,096-byte message
    with one attribute set (ORIGIN IGP, AS_PATH 64512, NEXT_HOP the feeder), then End-of-RIB;
    `withdraw` sends them back as withdrawals (1,018 per message). A thread reads what the
    receiver sends and notes when each KEEPALIVE arrived; another keeps the session up.
    With `hold` 3 and no table it is the watcher: a second session whose keepalives from the
    receiver must keep coming every second while the other session's feed goes on."""

    def __init__(self, addr, peer, hold=90, table=True):
        prefixes = [bytes((24, 45 + i // 65536, (i // 256) % 256, i % 256)) for i in range(N if table else 0)]
        if ORDER == "shuffled":
            random.Random(1).shuffle(prefixes)
        attrs = bytes((0x40, 1, 1, 0, 0x40, 2, 6, 2, 1)) + struct.pack("!I", 64512) + bytes((0x40, 3, 4)) + \
            socket.inet_aton(addr)
        self.updates = b"".join(
            msg(2, struct.pack("!HH", 0, len(attrs)) + attrs + b"".join(prefixes[i:i + 1013]))
            for i in range(0, len(prefixes), 1013)) + msg(2, struct.pack("!HH", 0, 0))
        self.withdrawals = b"".join(
            msg(2, struct.pack("!H", len(w)) + w + struct.pack("!H", 0))
            for w in (b"".join(prefixes[i:i + 1018]) for i in range(0, len(prefixes), 1018)))
        self.hold, self.keepalives = hold, []
        self.sock = socket.socket()
        self.sock.bind((addr, 0))
        for _ in range(100):
            try:
                self.sock.connect((peer, 179))
                break
            except ConnectionRefusedError:
                time.sleep(0.05)
        caps = bytes((1, 4, 0, 1, 0, 1, 65, 4)) + struct.pack("!I", 64512)
        self.sock.sendall(msg(1, struct.pack("!BHH4sBBB", 4, 64512, hold, socket.inet_aton(addr), len(caps) + 2, 2,
                                             len(caps)) + caps) + msg(4, b""))
        threading.Thread(target=self.drain, daemon=True).start()
        threading.Thread(target=self.keepalive, daemon=True).start()

    def drain(self):
        data = b""
        while chunk := self.recv():
            now, data = time.time(), data + chunk
            while len(data) >= 19 and len(data) >= struct.unpack("!H", data[16:18])[0]:
                length, kind = struct.unpack("!HB", data[16:19])
                if kind == 4:
                    self.keepalives.append(now)
                data = data[length:]

    def keepalive(self):
        try:
            while True:
                time.sleep(self.hold / 3)
                self.sock.sendall(msg(4, b""))
        except OSError:
            pass  # the receiver stopped: the run is over

    def recv(self):
        try:
            return self.sock.recv(65536)
        except OSError:
            return b""

    def announce(self):
        self.sock.sendall(self.updates)

    def withdraw(self):
        self.sock.sendall(self.withdrawals)

    def longest_gap(self, since):
        """The longest wait between the receiver's keepalives since `since` (until now)."""
        times = [since] + [t for t in self.keepalives if t > since] + [time.time()]
        return max(b - a for a, b in zip(times, times[1:]))


def msg(kind, body):
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), kind) + body


class Events:
    """xconnect's event file, read as it grows: routes accepted and withdrawn so far."""

    def __init__(self, path):
        self.path, self.pos, self.rest, self.accepted, self.withdrawn = path, 0, b"", 0, 0

    def scan(self):
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        self.pos += len(data)
        data = self.rest + data
        cut = data.rfind(b"\n") + 1
        data, self.rest = data[:cut], data[cut:]
        # Counted without parsing every line: the scan must keep up with the speaker.
        accepted, withdrawn = data.count(b'"event":"accepted",'), data.count(b'"event":"withdrawn",')
        if b"_batch" in data:
            for line in data.split(b"\n"):
                if b'_batch"' in line:
                    v = json.loads(line)
                    if v["event"] == "accepted_batch":
                        accepted += v["count"]
                    elif v["event"] == "withdrawn_batch":
                        withdrawn += v["count"]
        self.accepted += accepted
        self.withdrawn += withdrawn
        return self


def measure(proc, feeder, watcher, routes_in):
    """Ingest, then withdrawal, of one receiver: times from the feeder's first byte to the receiver
    holding all N routes (then none), both polled every 20 ms; CPU, memory; the longest wait
    for a keepalive on the watcher's session meanwhile."""
    base = rss(proc.pid)
    t0 = start = time.time()
    threading.Thread(target=feeder.announce, daemon=True).start()
    wait("the ingest", lambda: routes_in() >= N)
    r = {"ingest": time.time() - t0, "cpu": cpu(proc.pid), "rss": rss(proc.pid), "per": (rss(proc.pid) - base) / N,
         "peak": rss(proc.pid, "VmHWM")}
    t0 = time.time()
    threading.Thread(target=feeder.withdraw, daemon=True).start()
    wait("the withdrawal", lambda: routes_in() == 0)
    r["withdraw"], r["wcpu"] = time.time() - t0, cpu(proc.pid) - r["cpu"]
    r["gap"] = watcher.longest_gap(start)
    time.sleep(1.5)  # the speaker gives memory back a second after its RIB halved
    r["after"] = rss(proc.pid)
    return r


def run_xconnect():
    path = f"{work}/events.jsonl"
    xc = subprocess.Popen([BIN, "bgp", "--role", "provider", "--local", f"{XC}:179", "--peer", "127.0.0.61",
                           "--peer", "127.0.0.65",
                           "--asn", "65000", "--peer-asn", "64512", "--passive", "--max-prefixes", str(N + 10),
                           "--json-events"] + EXTRA, stdin=subprocess.PIPE, stdout=open(path, "wb"),
                          stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    if xc.poll() is not None:
        sys.exit(f"bgp-scale: xconnect exited ({xc.returncode}) before the feed; is {XC}:179 taken?")
    ev = Events(path)
    feeder = Feeder("127.0.0.61", XC)
    watcher = Feeder("127.0.0.65", XC, hold=3, table=False)
    wait("the sessions", lambda: open(path, "rb").read().count(b'"to":"Established"') == 2)
    r = measure(xc, feeder, watcher, lambda: ev.scan().accepted - ev.withdrawn)
    xc.stdin.write(b"shutdown\n")
    xc.stdin.flush()
    xc.wait(10)
    return r


def run_bird():
    conf, ctl = f"{work}/b2.conf", f"{work}/b2.ctl"
    open(conf, "w").write(f"""router id {B2};
protocol device {{}}
protocol bgp feed {{
  local {B2} as 65001; neighbor 127.0.0.64 as 64512; passive on;
  multihop; hold time 90;
  ipv4 {{ import all; export none; }};
}}
protocol bgp watch {{
  local {B2} as 65001; neighbor 127.0.0.66 as 64512; passive on;
  multihop; hold time 90;
  ipv4 {{ import all; export none; }};
}}
""")
    b2 = subprocess.Popen(["bird", "-f", "-c", conf, "-s", ctl], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    feeder = Feeder("127.0.0.64", B2)
    watcher = Feeder("127.0.0.66", B2, hold=3, table=False)
    wait("the sessions", lambda: birdc(ctl, "show protocols").count("Established") == 2)

    def routes_in():
        # the protocol's import counter: O(1), where `show route count` would walk the table
        for line in birdc(ctl, "show protocols all feed").splitlines():
            if "Routes:" in line:
                return int(line.split()[1])
        return 0
    r = measure(b2, feeder, watcher, routes_in)
    b2.terminate()
    b2.wait(10)
    return r


RUNS = whole(sys.argv[sys.argv.index("--runs") + 1], "--runs", 1, 100) if "--runs" in sys.argv else 1
xs, bs = [], []
for _ in range(RUNS):
    xs.append(run_xconnect())
    bs.append(run_bird())


def median(runs):
    """Each figure's median over the runs."""
    return {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in runs[0]}


x, b = median(xs), median(bs)
print(f"{N} prefixes sent {ORDER}, {'summary' if EXTRA else 'per-prefix'} events, median of {RUNS} run(s)")
print("            ingest      CPU   RSS MB  B/prefix  peak MB  withdraw  (CPU)  RSS after MB  keepalive gap")
for name, r in (("xconnect", x), ("BIRD", b)):
    print(f"  {name:8}  {r['ingest']:6.2f} s  {r['cpu']:5.2f} s  {r['rss'] / 1e6:6.1f}  {r['per']:8.0f}  "
          f"{r['peak'] / 1e6:7.1f}  {r['withdraw']:6.2f} s  {r['wcpu']:5.2f}  {r['after'] / 1e6:12.1f}  {r['gap']:9.2f} s")


def ratio(a, b, floor):
    """a / b, or why not: times under `floor` are below what the polling and the clock resolve."""
    return f"{a / b:.2f}x" if min(a, b) >= floor else f"n/a (under {floor} s)"


print(f"  xconnect / BIRD: ingest {ratio(x['ingest'], b['ingest'], 0.1)}, "
      f"withdraw {ratio(x['withdraw'], b['withdraw'], 0.1)}, CPU {ratio(x['cpu'], b['cpu'], 0.05)}, "
      f"memory per prefix {x['per'] / b['per']:.2f}x")
