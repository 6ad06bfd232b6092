//! Live ports, for real: two network namespaces joined by a veth pair that each test creates
//! and removes (root; under `CI=true` not being root fails, elsewhere the tests skip loudly).
//! Frames cross the pair from `generate --iface` or `replay --to-iface` to `replay --iface`,
//! and every one is accounted for, byte for byte.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use xconnect_capture::CaptureReader;

use crate::util::{pcap, require_tool};

/// Whether this process may make network namespaces. Under `CI=true` it must.
pub fn require_root() -> bool {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("the live-port tests need root (network namespaces), and CI=true requires them to run");
        }
        eprintln!("SKIPPED: not root: the live-port tests (network namespaces, veth) did not run");
        return false;
    }
    require_tool("ip")
}

/// A fresh pair for a test, one test at a time; `None` when the test is skipped.
fn pair() -> Option<(std::sync::MutexGuard<'static, ()>, Pair)> {
    if !require_root() {
        return None;
    }
    let one = one_at_a_time();
    Some((one, Pair::new()))
}

/// The first frame where two captures differ, shown whole.
fn assert_same_frames(got: &[Vec<u8>], want: &[Vec<u8>], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: frame counts");
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        panic!("{what}: frame {i} differs:\n{:02x?}\n{:02x?}", got[i], want[i]);
    }
}

static LABS: AtomicUsize = AtomicUsize::new(0);

/// One wall-clock test at a time: the pacing and the shaper's timing are what is measured.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Two namespaces, `a` and `b`, with a veth pair `va` ⇄ `vb` between them, IPv6 off (no
/// router solicitations on the wire): removed on drop.
pub struct Pair {
    pub a: String,
    pub b: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Pair {
    pub fn new() -> Pair {
        let n = LABS.fetch_add(1, Ordering::Relaxed);
        let id = format!("xct{}-{n}", std::process::id());
        let pair = Pair { a: format!("{id}-a"), b: format!("{id}-b") };
        for ns in [&pair.a, &pair.b] {
            ip(&["netns", "add", ns]);
            ip(&["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
            ip(&["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        ip(&["link", "add", "va", "netns", &pair.a, "type", "veth", "peer", "name", "vb", "netns", &pair.b]);
        ip(&["-n", &pair.a, "link", "set", "va", "up"]);
        ip(&["-n", &pair.b, "link", "set", "vb", "up"]);
        pair
    }

    /// `xconnect ARGS` inside namespace `ns`.
    pub fn xconnect(ns: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_xconnect")]).args(args);
        c
    }

    /// `replay --iface vb --json ARGS` in `b`, returned once it listens.
    pub fn listen(&self, args: &[&str]) -> Listener {
        let mut child = Self::xconnect(&self.b, &[&["replay", "--iface", "vb", "--json"][..], args].concat())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the listener");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        err.read_line(&mut first).unwrap();
        assert!(first.contains("listening on vb"), "the listener said: {first}");
        // The rest of its stderr (interval lines) is read as it comes, so it never blocks.
        let lines = std::thread::spawn(move || {
            let mut all = String::new();
            for l in err.lines() {
                all += &l.unwrap();
                all.push('\n');
            }
            all
        });
        Listener { child, lines }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

pub struct Listener {
    child: Child,
    lines: std::thread::JoinHandle<String>,
}

impl Listener {
    /// Stops it with SIGINT; its report, exit code and stderr.
    pub fn stop(self) -> (Value, Option<i32>, String) {
        // Frames in flight are on the far side of the pair within microseconds.
        std::thread::sleep(Duration::from_millis(300));
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        self.finish()
    }

    /// Waits for it to end by itself.
    pub fn finish(self) -> (Value, Option<i32>, String) {
        let out = self.child.wait_with_output().unwrap();
        let err = self.lines.join().unwrap();
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("the listener's JSON: {e}: {}\n{err}", String::from_utf8_lossy(&out.stdout)));
        (report, out.status.code(), err)
    }
}

fn json_out(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Every frame of a capture, in order.
fn frames(path: &Path) -> Vec<Vec<u8>> {
    let mut r = CaptureReader::open(path).unwrap();
    let mut v = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        v.push(p.data.to_vec());
    }
    v
}

/// The RTP streams of a report as (ssrc, packets, lost, sequence errors), sorted.
fn streams(r: &Value) -> Vec<(u64, u64, i64, u64)> {
    let mut v: Vec<_> = r["rtp_streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["ssrc"].as_u64().unwrap(),
                s["packets"].as_u64().unwrap(),
                s["lost"].as_i64().unwrap(),
                s["seq_errors"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn calls_sent_on_one_end_arrive_whole_and_in_order_at_the_other() {
    let Some((_one, pair)) = pair() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept.pcap");
    let file = dir.path().join("file.pcap");
    let args = ["generate", "--calls", "300", "--seconds", "2", "--both-directions", "--silence-suppression"];
    // The same calls written to a file: what must arrive.
    let out =
        Command::new(env!("CARGO_BIN_EXE_xconnect")).args(args).args(["-o", file.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listener = pair.listen(&["--write", kept.to_str().unwrap(), "--interval", "500ms"]);
    let sent =
        json_out(&Pair::xconnect(&pair.a, &[&args[..], &["--iface", "va", "--json"]].concat()).output().unwrap());
    let (live, code, lines) = listener.stop();
    assert_eq!(code, Some(0), "{lines}");

    let expected = frames(&file);
    assert!(expected.len() > 10_000, "{}", expected.len());
    assert_eq!(sent["frames"], expected.len() as u64, "{sent}");
    assert_eq!(sent["ended"], "done");
    assert_eq!(sent["loops"], 1);
    assert_eq!(sent["bytes"], expected.iter().map(|f| f.len() as u64).sum::<u64>());
    // Every frame sent is received or dropped by the kernel, none else; at this rate none is
    // dropped.
    let l = &live["live"];
    assert_eq!(l["interface"], "vb");
    assert_eq!(l["ended"], "stopped");
    assert_eq!(l["kernel_drops"], 0, "{l}");
    assert_eq!(live["frames"], sent["frames"], "{l}");
    assert_eq!(l["kernel_packets"], sent["frames"]);
    assert_eq!(live["format"], "live");
    // Byte for byte and in order: the kept capture is the generated one.
    assert_same_frames(&frames(&kept), &expected, "received against generated");
    // The same analysis as the file's, but for time: the same streams, nothing lost.
    let from_file = crate::util::json_of(&["replay", file.to_str().unwrap(), "--json"]);
    assert_eq!(streams(&live), streams(&from_file));
    // 300 calls both ways; with silence suppression a few legs say nothing in 2 s.
    assert!(streams(&live).len() > 590, "{}", streams(&live).len());
    assert!(streams(&live).iter().all(|s| s.2 == 0 && s.3 == 0));
    // The interval lines while it ran, the last one partial: their frames add up to the
    // report's.
    let counts: Vec<u64> = lines
        .lines()
        .filter(|l| l.contains(" frames "))
        .map(|l| l.split_whitespace().nth(2).unwrap().parse().unwrap())
        .collect();
    assert!(counts.len() >= 4, "{lines}");
    assert_eq!(counts.iter().sum::<u64>(), sent["frames"].as_u64().unwrap(), "{lines}");
}

#[test]
fn a_capture_replayed_onto_a_port_arrives_at_its_own_pace_and_loops() {
    let Some((_one, pair)) = pair() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept.pcap");
    // A real call: SIP and RTP, 236 frames over 7.05 s; played 4 times faster, twice.
    let fixture = pcap("sipp-g711a.pcap");
    let listener = pair.listen(&["--write", kept.to_str().unwrap()]);
    let sent = json_out(
        &Pair::xconnect(
            &pair.a,
            &["replay", fixture.to_str().unwrap(), "--to-iface", "va", "--speed", "4", "--loop", "2", "--json"],
        )
        .output()
        .unwrap(),
    );
    let (live, _, lines) = listener.stop();
    let one = frames(&fixture);
    assert_eq!(sent["frames"], 2 * one.len() as u64, "{sent}");
    assert_eq!(sent["loops"], 2);
    // Each pass takes 7.05 s / 4; the second starts right after the first.
    let scheduled = sent["scheduled_seconds"].as_f64().unwrap();
    assert!((scheduled - 2.0 * 7.050 / 4.0).abs() < 0.01, "{sent}");
    // No frame goes early, so the span sent (first send to last) is at least the scheduled
    // span less the first frame's lateness, at most its largest: a late first frame (CI saw
    // 7 ms) shortens it.
    let seconds = sent["seconds"].as_f64().unwrap();
    let late_max = sent["pacing_error_us"]["max"].as_f64().unwrap() / 1e6;
    assert!(seconds >= scheduled - late_max - 1e-6 && seconds < scheduled + 0.5, "{sent}");
    assert_eq!(live["frames"], sent["frames"], "{lines}");
    assert_same_frames(&frames(&kept), &[one.clone(), one].concat(), "received against the capture twice");
    // The frames arrive at the capture's times over 4: the span received matches.
    let span = live["duration_s"].as_f64().unwrap();
    assert!((span - scheduled).abs() < 0.05, "received over {span} s, scheduled {scheduled} s");
}

#[test]
fn a_link_that_goes_down_ends_both_ends_with_the_report_so_far() {
    let Some((_one, pair)) = pair() else { return };
    let listener = pair.listen(&[]);
    let sender = Pair::xconnect(&pair.a, &["generate", "--calls", "50", "--seconds", "30", "--iface", "va", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    ip(&["-n", &pair.a, "link", "set", "va", "down"]);
    let out = sender.wait_with_output().unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "the sender took {:?} to notice", t.elapsed());
    assert_eq!(out.status.code(), Some(2), "a link going down is not a clean end");
    let sent: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sent["ended"], "link down");
    let n = sent["frames"].as_u64().unwrap();
    assert!(n > 2000 && n < 50 * 50 * 5, "{sent}");
    let (live, code, lines) = listener.finish();
    assert_eq!(code, Some(2), "{lines}");
    assert!(lines.contains("the link went down"), "{lines}");
    assert_eq!(live["live"]["ended"], "link down");
    // Every frame the sender sent arrived before the link went, or was dropped by the sending
    // interface as it went down: the socket had taken it (so the sender counts it), the device
    // no longer sent it (`ip -s link` shows it in va's TX dropped; CI saw one in 3732).
    let stats = Command::new("ip").args(["-n", &pair.a, "-s", "-j", "link", "show", "va"]).output().unwrap();
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    let dropped_going_down = stats[0]["stats64"]["tx"]["dropped"].as_u64().unwrap();
    // At most the frames of one batch the socket had taken when the link went.
    assert!(dropped_going_down <= xconnect_capture::port::SEND_BATCH as u64, "{stats}");
    assert_eq!(
        live["frames"].as_u64().unwrap() + live["live"]["kernel_drops"].as_u64().unwrap() + dropped_going_down,
        n,
        "{stats}"
    );
}

#[test]
fn ports_that_cannot_be_used_are_refused_before_anything_is_sent() {
    let Some((_one, pair)) = pair() else { return };
    let run = |args: &[&str]| {
        let out = Pair::xconnect(&pair.a, args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let gen = |iface: &'static str| ["generate", "--calls", "10", "--seconds", "1", "--iface", iface];
    // Not there: the error lists what is.
    let (code, err) = run(&gen("vz"));
    assert_eq!(code, Some(1));
    assert!(err.contains("\"vz\": no such interface in this network namespace (there are: lo, va)"), "{err}");
    // Administratively down, then up without a carrier (its peer down).
    ip(&["-n", &pair.a, "link", "set", "va", "down"]);
    let (code, err) = run(&gen("va"));
    assert_eq!(code, Some(1));
    assert!(err.contains("\"va\" is administratively down: bring it up first (ip link set va up)"), "{err}");
    ip(&["-n", &pair.a, "link", "set", "va", "up"]);
    ip(&["-n", &pair.b, "link", "set", "vb", "down"]);
    let (code, err) = run(&["replay", "--iface", "va", "--seconds", "1"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("\"va\" is up but without a carrier (no link)"), "{err}");
    ip(&["-n", &pair.b, "link", "set", "vb", "up"]);
    // Without CAP_NET_RAW (root, but the capability taken from the bounding set).
    if require_tool("setpriv") {
        let out = Command::new("ip")
            .args(["netns", "exec", &pair.a, "setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw"])
            .arg(env!("CARGO_BIN_EXE_xconnect"))
            .args(gen("va"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("needs the CAP_NET_RAW capability, which this process lacks"), "{err}");
    }
}

#[test]
fn sigint_ends_the_sender_cleanly_with_the_report_so_far() {
    let Some((_one, pair)) = pair() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("live.html");
    let listener = pair.listen(&["--report", page.to_str().unwrap(), "--tier", "10M"]);
    let sender =
        Pair::xconnect(&pair.a, &["generate", "--calls", "50", "--seconds", "30", "--sip", "--iface", "va", "--json"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    assert!(Command::new("kill").args(["-INT", &sender.id().to_string()]).status().unwrap().success());
    let out = sender.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "a stop asked for is a clean end");
    let sent: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sent["ended"], "stopped");
    let n = sent["frames"].as_u64().unwrap();
    assert!(n > 1000, "{sent}");
    let (live, code, lines) = listener.stop();
    assert_eq!(code, Some(0), "{lines}");
    assert_eq!(live["frames"], n, "{lines}");
    // SIP dialogs live: every call's INVITE was seen, and the media the SDP set up.
    assert_eq!(live["sip"]["calls"].as_array().unwrap().len(), 50, "{}", live["sip"]);
    assert!(live["policer"]["passed_frames"].as_u64().unwrap() > 0);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("live:vb") && html.contains("<svg"), "the live run's report");
}

#[test]
fn a_port_without_ethernet_frames_is_refused() {
    let Some((_one, pair)) = pair() else { return };
    // A tun device carries IP packets with no Ethernet header: nothing to send or parse as
    // frames (refused before it is found to have no carrier).
    ip(&["-n", &pair.a, "tuntap", "add", "dev", "tun7", "mode", "tun"]);
    let out = Pair::xconnect(&pair.a, &["replay", "--iface", "tun7", "--seconds", "1"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("\"tun7\" carries no Ethernet frames (its hardware type is 65534"), "{err}");
    // Loopback is framed as Ethernet on Linux: accepted.
    let out = Pair::xconnect(&pair.a, &["replay", "--iface", "lo", "--seconds", "0.2", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
