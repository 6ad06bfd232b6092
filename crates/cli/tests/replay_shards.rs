//! The replay's report does not depend on how many threads share the work, nor on whether
//! the file is mapped or streamed: every fixture, and generated captures with SIP, RTCP-less
//! and T.38 calls, with and without the what-if policer, and with a flow limit that bites.

use std::path::{Path, PathBuf};

use xconnect_dataplane::pipeline::{replay_file, Outputs};
use xconnect_dataplane::police::{Duplex, Mode, PolicerConfig, Profile, Sides};
use xconnect_dataplane::replay::ReplayOptions;

use crate::util::{all_pcaps, xconnect};

fn police(mode: Mode) -> Duplex {
    let cfg = PolicerConfig {
        rate_bps: 10_000_000,
        burst_bytes: 20_000,
        excess_rate_bps: 0,
        excess_burst_bytes: 20_000,
        profile: Profile::SingleRate,
        accounting: "frame".parse().unwrap(),
        mode,
    };
    Duplex::new(cfg, Sides::Provider(vec!["168.86.128.0/18".parse().unwrap()])).unwrap()
}

/// The report as JSON, and the bytes of the dropped-frames capture when there is a policer.
fn run(path: &Path, opts: ReplayOptions, police: Option<Duplex>) -> (String, Option<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let dropped = dir.path().join("dropped.pcap");
    let outputs = Outputs {
        passed: None,
        dropped: police.as_ref().map(|_| xconnect_capture::PcapWriter::create(&dropped, 65535).unwrap()),
        received: None,
    };
    let (report, outputs) = replay_file(path, opts, police, outputs).unwrap();
    let written = outputs.dropped.map(|w| std::fs::read(w.finish().unwrap()).unwrap());
    (serde_json::to_string_pretty(&report).unwrap(), written)
}

fn same_for_every_thread_count(path: &Path, opts: ReplayOptions, police: impl Fn() -> Option<Duplex>) {
    let one = run(path, ReplayOptions { threads: 1, ..opts }, police());
    for threads in [2, 3, 4, 8] {
        let many = run(path, ReplayOptions { threads, ..opts }, police());
        assert!(
            one == many,
            "{}: {threads} threads differ from 1:\n{}",
            path.display(),
            first_difference(&one.0, &many.0)
        );
    }
}

fn first_difference(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    format!("line {i}: {:?} against {:?}", a.get(i), b.get(i))
}

fn generated(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut all = vec!["generate", "-o", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = xconnect(&all);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path
}

#[test]
fn every_fixture_gives_the_same_report_on_any_number_of_threads() {
    for path in all_pcaps() {
        same_for_every_thread_count(&path, ReplayOptions::default(), || None);
        same_for_every_thread_count(&path, ReplayOptions::default(), || Some(police(Mode::Police)));
    }
}

#[test]
fn generated_calls_give_the_same_report_on_any_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let sip = generated(
        dir.path(),
        "sip.pcap",
        &[
            "--calls",
            "120",
            "--seconds",
            "4",
            "--both-directions",
            "--sip",
            "--dtmf-share",
            "0.2",
            "--t38-share",
            "0.1",
        ],
    );
    let plain =
        generated(dir.path(), "plain.pcap", &["--calls", "400", "--seconds", "3", "--both-directions", "--vlan", "7"]);
    for path in [&sip, &plain] {
        same_for_every_thread_count(path, ReplayOptions::default(), || None);
        // 400 two-way calls are ~34 Mbit/s: the 10 Mbit/s policer drops most of them.
        same_for_every_thread_count(path, ReplayOptions::default(), || Some(police(Mode::Police)));
        same_for_every_thread_count(path, ReplayOptions::default(), || {
            Some(police(Mode::Shape { buffer_bytes: 40_000 }))
        });
    }
    // A flow limit that leaves flows untracked: the same flows are tracked whatever the threads.
    let limited = ReplayOptions { max_flows: 200, ..ReplayOptions::default() };
    let (report, _) = run(&plain, ReplayOptions { threads: 1, ..limited }, None);
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(v["untracked_flow_frames"].as_u64().unwrap() > 0, "the limit bites");
    assert!(v["flows"].as_u64().unwrap() <= 256, "at most 64 parts of ceil(200 / 64) flows");
    same_for_every_thread_count(&plain, limited, || None);
    // A stream bound that leaves streams unanalyzed: the same streams whatever the threads.
    let limited = ReplayOptions { max_rtp_streams: 200, ..ReplayOptions::default() };
    let (report, _) = run(&plain, ReplayOptions { threads: 1, ..limited }, None);
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(v["rtp_untracked_packets"].as_u64().unwrap() > 0, "the bound bites");
    let kept = v["rtp_streams"].as_array().unwrap().len();
    assert!((1..=256).contains(&kept), "at most 64 parts of ceil(200 / 64) streams: {kept}");
    same_for_every_thread_count(&plain, limited, || None);
}

#[test]
fn a_stream_gives_the_same_report_as_the_mapped_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = generated(dir.path(), "calls.pcap", &["--calls", "50", "--seconds", "2", "--sip"]);
    let fixtures = all_pcaps();
    let damaged = fixtures.iter().find(|p| p.ends_with("zeek-trunc-hdr.pcap")).unwrap().clone();
    let pcapng = fixtures.iter().find(|p| p.ends_with("pcapplusplus-pcapng-example.pcapng")).unwrap().clone();
    for (k, path) in [file, damaged, pcapng].into_iter().enumerate() {
        for threads in [1, 3] {
            let opts = ReplayOptions { threads, ..ReplayOptions::default() };
            let mapped = run(&path, opts, Some(police(Mode::Police)));
            // The same bytes through a FIFO take the read() path.
            let fifo = dir.path().join(format!("fifo-{k}-{threads}"));
            assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
            let (src, f2) = (path.clone(), fifo.clone());
            let feeder = std::thread::spawn(move || {
                let mut out = std::fs::OpenOptions::new().write(true).open(f2).unwrap();
                std::io::copy(&mut std::fs::File::open(src).unwrap(), &mut out).map(|_| ())
            });
            let streamed = run(&fifo, opts, Some(police(Mode::Police)));
            feeder.join().unwrap().unwrap();
            let strip = |s: &str| s.replace(fifo.to_str().unwrap(), "FILE").replace(path.to_str().unwrap(), "FILE");
            assert_eq!(strip(&mapped.0), strip(&streamed.0), "{}: {threads} threads", path.display());
            assert_eq!(mapped.1, streamed.1);
        }
    }
}

#[test]
fn a_failed_output_ends_the_replay_on_any_number_of_threads() {
    // /dev/full takes nothing: the first flush of dropped frames fails. Shard 0 stops; the
    // others (which may be waiting for its reader to move on) must end too.
    let dir = tempfile::tempdir().unwrap();
    let file = generated(dir.path(), "calls.pcap", &["--calls", "400", "--seconds", "3", "--both-directions"]);
    for threads in [1, 2, 3, 8] {
        for streamed in [false, true] {
            let input = if streamed {
                let fifo = dir.path().join(format!("fifo-{threads}"));
                assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
                let (src, f2) = (file.clone(), fifo.clone());
                std::thread::spawn(move || {
                    let mut out = std::fs::OpenOptions::new().write(true).open(f2).unwrap();
                    // The reader may stop early and close the pipe: a write error here is fine.
                    let _ = std::io::copy(&mut std::fs::File::open(src).unwrap(), &mut out);
                });
                fifo
            } else {
                file.clone()
            };
            let outputs = Outputs {
                passed: None,
                dropped: Some(xconnect_capture::PcapWriter::create(Path::new("/dev/full"), 65535).unwrap()),
                received: None,
            };
            let opts = ReplayOptions { threads, ..ReplayOptions::default() };
            let started = std::time::Instant::now();
            let e = replay_file(&input, opts, Some(police(Mode::Police)), outputs).unwrap_err();
            assert!(e.to_string().contains("No space left"), "{threads} threads, streamed {streamed}: {e}");
            assert!(started.elapsed() < std::time::Duration::from_secs(30));
        }
    }
}

#[test]
fn threads_out_of_range_are_refused() {
    let path = &all_pcaps()[0];
    for threads in [0, 9] {
        let e = replay_file(path, ReplayOptions { threads, ..ReplayOptions::default() }, None, Outputs::default())
            .unwrap_err();
        assert!(e.to_string().contains("expected 1 to 8"), "{e}");
    }
    let out = xconnect(&["replay", path.to_str().unwrap(), "--threads", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads 0: expected at least 1"));
    // More than the cores (or than 8) is capped with a note, and the report is the one-thread
    // report.
    let many = xconnect(&["replay", path.to_str().unwrap(), "--json", "--threads", "1000000"]);
    let one = xconnect(&["replay", path.to_str().unwrap(), "--json", "--threads", "1"]);
    assert!(many.status.success() && one.status.success());
    assert!(String::from_utf8_lossy(&many.stderr).contains("capped"), "{}", String::from_utf8_lossy(&many.stderr));
    assert_eq!(many.stdout, one.stdout);
    let garbage = xconnect(&["replay", path.to_str().unwrap(), "--threads", "-3"]);
    assert_eq!(garbage.status.code(), Some(2), "clap refuses a negative count");
}
