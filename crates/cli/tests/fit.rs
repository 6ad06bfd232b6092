//! `xconnect fit` and `generate --scenario`: a capture made from a known scenario is fitted
//! and the fit is compared with the truth, and the fitted scenario's simulation with the
//! capture's replay; the real SIP captures are fitted into the kept examples.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{json_of, pcap, pcap_dir, xconnect};

fn scenario(name: &str) -> PathBuf {
    pcap_dir().join("../scenarios").join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The capture `generate --scenario` makes of `scenario` (text), with `args`, in `dir`.
fn generated(dir: &Path, name: &str, scenario: &str, args: &[&str]) -> PathBuf {
    let sc = dir.join(format!("{name}.toml"));
    std::fs::write(&sc, scenario).unwrap();
    let cap = dir.join(format!("{name}.pcap"));
    let mut argv = vec!["generate", "--scenario", s(&sc), "-o", s(&cap)];
    argv.extend_from_slice(args);
    let out = xconnect(&argv);
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    cap
}

fn within(what: &str, got: f64, want: f64, rel: f64) {
    assert!((got - want).abs() <= rel * want.abs(), "{what}: {got} against {want} (±{} %)", rel * 100.0);
}

/// The round trip. `mix-poisson.toml`: 220 Erlangs of 5 s calls (Poisson), 50 % G.711/20, 20 %
/// G.711/20 with silence suppression, 30 % G.729/30, both directions, for 90 s, into 10 Mbps.
#[test]
fn a_fitted_capture_simulates_as_the_capture_replays() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("mix.pcap");
    let fitted = dir.path().join("fitted.toml");
    let out = xconnect(&["generate", "--scenario", s(&scenario("mix-poisson.toml")), "-o", s(&cap)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fit = json_of(&["fit", s(&cap), "--tier", "10M", "-o", s(&fitted), "--json"]);

    // The fitted parameters against the true ones. The capture is one 90 s sample of the
    // process: the time-average of 220 Erlangs of 5 s calls over 90 s has a standard deviation
    // of sqrt(2 × 220 × 5 / 90) = 4.9 calls (2.2 %); the tolerances are about three of them.
    within("Erlangs", f(&fit["erlangs"]), 220.0, 0.07);
    within("mean holding time (Little)", f(&fit["mean_hold_s"]), 5.0, 0.07);
    within("arrival rate", f(&fit["arrivals"]["rate_per_s"]), 220.0 / 5.0, 0.07);
    assert_eq!(fit["arrivals"]["process"], "poisson");
    assert_eq!(fit["arrivals"]["test"]["rejected"], false, "Poisson arrivals pass the test: {}", fit["arrivals"]);
    assert_eq!(fit["holding"]["best"], "exponential", "{}", fit["holding"]);
    let classes = fit["classes"].as_array().unwrap();
    let share = |codec: &str, ptime: u64, ss: bool| {
        classes
            .iter()
            .find(|c| c["codec"] == codec && c["ptime_ms"] == ptime && c["silence_suppression"] == ss)
            .map_or(0.0, |c| f(&c["share"]))
    };
    // A suppressed call too short to pause looks unsuppressed (a 5 s call has no pause with
    // probability about 1/4: P.59's talkspurts last 1 s on average but the first one starts
    // with the call): some of the 20 % move to the unsuppressed G.711 class.
    assert_eq!(classes.len(), 3, "{classes:?}");
    within("G.729/30 share", share("g729", 30, false), 0.3, 0.1);
    let ss = share("g711u", 20, true);
    assert!((0.12..=0.22).contains(&ss), "suppressed G.711 share {ss}");
    within("all G.711/20", share("g711u", 20, false) + ss, 0.7, 0.05);
    assert_eq!(f(&fit["jitter"]["delay_variation_ms"]), 0.0, "generated frames leave at their times");
    assert_eq!(fit["sites"][0]["tier"], "10M");

    // The fitted scenario simulated for ten times the capture's length (so that its own
    // sampling error, about 0.7 % for 900 s, does not hide the fit's) against the capture
    // replayed through the same tier.
    let text = std::fs::read_to_string(&fitted).unwrap();
    let long = dir.path().join("long.toml");
    let replaced: Vec<String> = text
        .lines()
        .map(|l| if l.starts_with("duration_s = ") { "duration_s = 900".into() } else { l.to_string() })
        .collect();
    assert!(text.contains("\nduration_s = 90.000\n"), "{text}");
    std::fs::write(&long, replaced.join("\n")).unwrap();
    let sim = json_of(&["simulate", s(&long), "--json"]);
    let replay = json_of(&["replay", s(&cap), "--tier", "10M", "--interval", "1s", "--json"]);

    let p = &replay["policer"];
    let seconds = f(&replay["duration_s"]);
    // The fit's own load per direction against the replay of the same file: its frames are
    // the packets of the RTP streams the replay found, each way (from the provider's range is
    // provider -> customer), and its Mbit/s the what-if's offered load (frames with FCS over
    // the same span) less the few streams of one packet, which no analysis confirms as RTP.
    let streams = replay["rtp_streams"].as_array().unwrap();
    for d in fit["directions"].as_array().unwrap() {
        let dir = d["direction"].as_str().unwrap();
        let from_provider = dir == "to_customer";
        let packets: u64 = streams
            .iter()
            .filter(|r| r["src"].as_str().unwrap().starts_with("168.86.") == from_provider)
            .map(|r| r["packets"].as_u64().unwrap())
            .sum();
        assert_eq!(d["frames"].as_u64().unwrap(), packets, "{dir}");
        let replayed = f(&p["directions"][dir]["offered_bytes"]) * 8.0 / seconds / 1e6;
        within(&format!("fit's {dir} Mbit/s"), f(&d["mbps"]), replayed, 1e-4);
    }
    let site = &sim["sites"][0];
    // Offered load, both directions, as the policer counts frames.
    within("offered Mbit/s", f(&site["offered_mbps"]), f(&p["offered_bytes"]) * 8.0 / seconds / 1e6, 0.05);
    // The tier's loss, each direction and both.
    let loss = |d: &Value| 100.0 * f(&d["dropped_frames"]) / f(&d["offered_frames"]);
    within("loss %", f(&site["loss_pct"]), loss(p), 0.05);
    for d in ["to_provider", "to_customer"] {
        within(&format!("{d} loss %"), f(&site["directions"][d]["loss_pct"]), loss(&p["directions"][d]), 0.05);
    }
    assert!(loss(p) > 15.0, "an overloaded tier, so that loss is compared: {}", loss(p));
    // Concurrency: calls that sent in each second, on average (the capture counts streams,
    // two per call).
    let mean = |v: &Value| {
        let a = v.as_array().unwrap();
        a.iter().map(f).sum::<f64>() / a.len() as f64
    };
    let captured = mean(&replay["series"]["calls_active"]) / 2.0;
    for series in sim["series"].as_array().unwrap() {
        within("calls active per second", mean(&series["calls_active"]), captured, 0.05);
    }
}

/// `generate --scenario` writes what `simulate` offers: the same calls (one seed per site),
/// so the same frames give or take one per stream (each leg's own phase at the run's end).
#[test]
fn generate_from_a_scenario_sends_what_simulate_offers() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("two.toml");
    let text = std::fs::read_to_string(scenario("default.toml")).unwrap().replace("duration_s = 30", "duration_s = 2");
    std::fs::write(&sc, &text).unwrap();
    let sim = json_of(&["simulate", s(&sc), "--json"]);
    // Two sites: one must be named.
    let out = xconnect(&["generate", "--scenario", s(&sc), "-o", s(&dir.path().join("x.pcap"))]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--site") && err.contains("ashburn, san-jose"), "{err}");
    for (i, name) in ["ashburn", "san-jose"].iter().enumerate() {
        let cap = dir.path().join(format!("{name}.pcap"));
        let out = xconnect(&["generate", "--scenario", s(&sc), "--site", name, "-o", s(&cap)]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let r = json_of(&["replay", s(&cap), "--json"]);
        let offered = sim["sites"][i]["offered_frames"].as_u64().unwrap();
        let frames = r["frames"].as_u64().unwrap();
        assert!(frames.abs_diff(offered) <= 2000, "{name}: {frames} written, {offered} simulated");
        assert_eq!(r["rtp_streams"].as_array().unwrap().len(), 2000, "1000 calls, both legs");
    }
    let out = xconnect(&["generate", "--scenario", s(&sc), "--site", "paris", "-o", s(&dir.path().join("y.pcap"))]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such site"));
}

/// The real SIP captures fitted into the examples kept in `fixtures/fit/` (regenerate them
/// with the command in that directory's README when the fit changes on purpose); each is a
/// scenario `simulate` runs.
#[test]
fn the_real_sip_captures_fit_into_the_kept_examples() {
    let dir = tempfile::tempdir().unwrap();
    for (capture, args) in [
        ("heplify-sip_ipv4_tcp.pcap", &["--customer-prefix", "10.33.6.100/32"][..]),
        ("ndpi-sip.pcap", &["--customer-prefix", "192.168.1.0/24"][..]),
        ("sipp-g711a.pcap", &["--customer-prefix", "10.1.3.0/24"][..]),
    ] {
        let out_path = dir.path().join(capture.replace(".pcap", ".toml"));
        let capture_path = pcap(capture);
        let mut argv = vec!["fit", s(&capture_path), "-o", s(&out_path)];
        argv.extend_from_slice(args);
        let out = xconnect(&argv);
        assert!(out.status.success(), "{capture}: {}", String::from_utf8_lossy(&out.stderr));
        let got = std::fs::read_to_string(&out_path).unwrap();
        let kept = pcap_dir().join("../fit").join(capture.replace(".pcap", ".toml"));
        let want = std::fs::read_to_string(&kept).unwrap_or_default();
        assert_eq!(got, want, "{capture}: the fit differs from {} (see its README to regenerate)", kept.display());
        let sim = json_of(&["simulate", s(&out_path), "--json"]);
        assert_eq!(sim["sites"].as_array().unwrap().len(), 1, "{capture}");
    }
}

/// Two captures as one, frames in time order.
fn merge(parts: &[&Path], out: &Path) {
    let mut frames: Vec<(u64, Vec<u8>)> = Vec::new();
    for p in parts {
        let mut r = xconnect_capture::CaptureReader::open(p).unwrap();
        while let Some(pkt) = r.next_packet().unwrap() {
            frames.push((pkt.ts_ns, pkt.data.to_vec()));
        }
    }
    frames.sort_by_key(|f| f.0);
    let mut w = xconnect_capture::PcapWriter::create(out, 65535).unwrap();
    for (ts, data) in &frames {
        w.write_packet(*ts, xconnect_frame::LinkType::Ethernet, data, data.len() as u32).unwrap();
    }
    w.finish().unwrap();
}

/// Two links in one capture: told apart by VLAN id, or by the sites' prefixes; and grown.
#[test]
fn sites_come_from_vlan_ids_or_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    for (calls, vlan, prefix) in [(30, 100, "45.64.0.0/24"), (60, 200, "45.64.1.0/24")] {
        let text = format!(
            "name = \"v\"\nseed = {vlan}\nduration_s = 10\n[traffic]\ncodec = \"g711u\"\nvlan = {vlan}\n\
             [[sites]]\nname = \"s\"\nlocation = \"ashburn\"\ntier = \"100M\"\ncalls = {calls}\n"
        );
        parts.push(generated(dir.path(), &vlan.to_string(), &text, &["--customer-prefix", prefix]));
    }
    let both = dir.path().join("both.pcap");
    merge(&[&parts[0], &parts[1]], &both);

    let by_vlan = json_of(&["fit", s(&both), "--json"]);
    let sites = by_vlan["sites"].as_array().unwrap();
    let named: Vec<(&str, u64)> =
        sites.iter().map(|x| (x["name"].as_str().unwrap(), x["calls"].as_u64().unwrap())).collect();
    assert_eq!(named, [("vlan-100", 30), ("vlan-200", 60)], "{sites:?}");
    let vlan = by_vlan["vlan"].as_u64();
    assert!(matches!(vlan, Some(100 | 200)), "every frame is tagged: the first id seen, not {vlan:?}");
    assert_eq!(by_vlan["arrivals"]["process"], "fixed", "every call is up for the whole capture");
    // 60 G.711 calls one way: 60 × 87.2 kbit/s + 4 bytes of tag per frame = 5.424 Mbit/s.
    let d = by_vlan["directions"].as_array().unwrap();
    let to_provider_200 = d.iter().find(|x| x["site"] == "vlan-200" && x["direction"] == "to_provider").unwrap();
    within("vlan-200 to provider", f(&to_provider_200["mbps"]), 60.0 * 222.0 * 8.0 * 50.0 / 1e6, 0.01);
    assert_eq!(to_provider_200["sizes"][0]["bytes"], 222);

    let fitted = dir.path().join("sites.toml");
    let by_prefix = json_of(&[
        "fit",
        s(&both),
        "--site-prefix",
        "ashburn=45.64.0.0/24",
        "--site-prefix",
        "san-jose=45.64.1.0/24",
        "--growth",
        "50",
        "-o",
        s(&fitted),
        "--json",
    ]);
    let named: Vec<(&str, u64)> = by_prefix["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["name"].as_str().unwrap(), x["calls"].as_u64().unwrap()))
        .collect();
    assert_eq!(named, [("ashburn", 45), ("san-jose", 90)], "50 % more calls at each site");
    // The scenario runs, each site with its grown calls.
    let sim = json_of(&["simulate", s(&fitted), "--seconds", "1", "--json"]);
    let calls: Vec<u64> = sim["sites"].as_array().unwrap().iter().map(|x| x["calls"].as_u64().unwrap()).collect();
    assert_eq!(calls, [45, 90]);
}

/// `--busy-hour` fits the hour with the most call time, not the whole capture.
#[test]
fn the_busy_hour_is_an_hour_with_at_least_the_average_load() {
    let dir = tempfile::tempdir().unwrap();
    let cap = generated(
        dir.path(),
        "long",
        "name = \"l\"\nseed = 3\nduration_s = 4500\n[traffic]\ncodec = \"g729\"\nptime_ms = 60\n\
         arrivals = \"poisson\"\nmean_hold_s = 60\n[[sites]]\nname = \"s\"\nlocation = \"ashburn\"\ntier = \"10M\"\n\
         calls = 3\n",
        &[],
    );
    let all = json_of(&["fit", s(&cap), "--json"]);
    let busy = json_of(&["fit", s(&cap), "--busy-hour", "--json"]);
    assert_eq!(all["window"]["busy_hour"], false);
    assert_eq!(busy["window"]["busy_hour"], true);
    assert_eq!(f(&busy["window"]["seconds"]), 3600.0);
    let (from, to) = (busy["window"]["from_ns"].as_u64().unwrap(), busy["window"]["to_ns"].as_u64().unwrap());
    assert!(from >= all["window"]["from_ns"].as_u64().unwrap() && to <= all["window"]["to_ns"].as_u64().unwrap());
    assert!(f(&busy["erlangs"]) >= f(&all["erlangs"]), "{} < {}", busy["erlangs"], all["erlangs"]);
    within("whole-capture Erlangs", f(&all["erlangs"]), 3.0, 0.35);
}

/// SIP calls: each dialog is a call from its answer to its BYE; calls set up before the
/// capture (no INVITE in it) or still up after it (no BYE) are not arrivals or holding times;
/// who placed the calls, comfort noise and DTMF are stated.
#[test]
fn sip_dialogs_are_calls_and_what_they_carry_is_stated() {
    let dir = tempfile::tempdir().unwrap();
    let cap = generated(
        dir.path(),
        "sip",
        "name = \"sip\"\nseed = 5\nduration_s = 60\n[traffic]\narrivals = \"poisson\"\nmean_hold_s = 5\n\
         [[traffic.mix]]\ncodec = \"g711a\"\nshare = 0.6\n\
         [[traffic.mix]]\ncodec = \"g711a\"\nsilence_suppression = true\nshare = 0.4\n\
         [[sites]]\nname = \"a\"\nlocation = \"ashburn\"\ntier = \"10M\"\ncalls = 20\n",
        &["--sip", "--comfort-noise", "--dtmf-share", "0.5"],
    );
    let fit = json_of(&["fit", s(&cap), "--json"]);
    let c = &fit["calls"];
    let n = |k: &str| c[k].as_u64().unwrap();
    // About 20 calls up when the capture starts: their media only, no INVITE.
    assert!((8..=35).contains(&n("up_at_start")), "{c}");
    assert_eq!(n("sip"), n("total") - n("up_at_start"), "every call set up inside the capture is a dialog: {c}");
    assert!(n("up_at_end") >= 8, "calls answered and not hung up when it ends: {c}");
    assert_eq!(n("completed"), n("sip") - n("up_at_end"));
    assert_eq!(fit["arrivals"]["test"]["rejected"], false, "{}", fit["arrivals"]);
    // 60 s of 20 Erlangs of 5 s calls: the realized mean has a standard deviation of 9 %.
    within("Erlangs", f(&fit["erlangs"]), 20.0, 0.27);
    within("mean holding time", f(&fit["mean_hold_s"]), 5.0, 0.27);
    assert_eq!(f(&fit["customer_placed_share"]), 1.0, "generate's INVITEs come from the customer");
    // Comfort noise in every suppressed call (40 % of them, by count within noise); DTMF in
    // half the calls of 2 s or more (two thirds of 5 s calls last that long): about a third.
    let cn = f(&fit["comfort_noise_share"]);
    assert!((0.25..=0.55).contains(&cn), "comfort noise in {cn}");
    let dtmf = f(&fit["dtmf_share"]);
    assert!((0.2..=0.45).contains(&dtmf), "DTMF in {dtmf}");
}

/// Streams of a payload type the simulator has no codec for are named, never guessed: alone
/// they are refused; beside known ones, noted and left out.
#[test]
fn payload_types_without_a_codec_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let g711 = dir.path().join("g711.pcap");
    let out = xconnect(&["generate", "--calls", "4", "--seconds", "3", "--both-directions", "-o", s(&g711)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Rewrite the payload type to 3 (GSM) in every frame, or in those from the customer only;
    // the UDP checksum is then left out (0, allowed over IPv4).
    let rewrite = |out: &Path, customer_only: bool| {
        let mut r = xconnect_capture::CaptureReader::open(&g711).unwrap();
        let mut w = xconnect_capture::PcapWriter::create(out, 65535).unwrap();
        while let Some(pkt) = r.next_packet().unwrap() {
            let mut f = pkt.data.to_vec();
            if !customer_only || f[26..29] == [203, 0, 113] {
                f[43] = (f[43] & 0x80) | 3;
                f[40..42].copy_from_slice(&[0, 0]);
            }
            w.write_packet(pkt.ts_ns, xconnect_frame::LinkType::Ethernet, &f, f.len() as u32).unwrap();
        }
        w.finish().unwrap();
    };
    let gsm = dir.path().join("gsm.pcap");
    rewrite(&gsm, false);
    let out = xconnect(&["fit", s(&gsm)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("8 RTP streams, none of a codec the simulator sends") && err.contains("payload types 3"),
        "{err}"
    );
    let half = dir.path().join("half.pcap");
    rewrite(&half, true);
    let fit = json_of(&["fit", s(&half), "--json"]);
    assert_eq!(fit["unknown"][0]["payload_type"], 3);
    assert_eq!(fit["unknown"][0]["streams"], 4);
    assert!(fit["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("of payload type 3")));
    // The calls stay, by their G.711 leg.
    assert_eq!(fit["classes"][0]["codec"], "g711u");
    assert_eq!(fit["calls"]["with_codec"], 4);
}

/// A capture whose snap length cut every frame (`tcpdump -s 70`) fits as the whole one does:
/// sizes and loads from the headers' length fields, packet times from the RTP headers.
#[test]
fn a_capture_cut_by_its_snap_length_fits_as_the_whole_one() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.pcap");
    let out = xconnect(&[
        "generate",
        "--calls",
        "20",
        "--seconds",
        "5",
        "--both-directions",
        "--codec",
        "g729",
        "--ptime",
        "40",
        "-o",
        s(&whole),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cut = dir.path().join("cut.pcap");
    let mut r = xconnect_capture::CaptureReader::open(&whole).unwrap();
    let mut w = xconnect_capture::PcapWriter::create(&cut, 54).unwrap();
    while let Some(pkt) = r.next_packet().unwrap() {
        // Ethernet, IPv4, UDP and the RTP header: the payload is gone.
        w.write_packet(pkt.ts_ns, xconnect_frame::LinkType::Ethernet, &pkt.data[..54], pkt.orig_len).unwrap();
    }
    w.finish().unwrap();
    let a = json_of(&["fit", s(&whole), "--json"]);
    let b = json_of(&["fit", s(&cut), "--json"]);
    assert_eq!(b["classes"], a["classes"], "G.729 at 40 ms either way");
    assert_eq!(a["classes"][0]["ptime_ms"], 40);
    assert_eq!(b["directions"], a["directions"], "loads and frame sizes from the length fields");
    assert_eq!(b["sites"], a["sites"]);
}

/// Calls whose streams the replay's analysis could not keep (a conversation flooded with
/// single-packet SSRCs fills its part of the flow space) are said to be missing from the fit,
/// with their packets: the same figure as the replay's `rtp_untracked_packets`.
#[test]
fn streams_beyond_the_analysis_bound_are_said_to_be_missing() {
    use xconnect_frame::{compose::UdpFrameTemplate, LinkType, PayloadType, RtpRepr};
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("flooded.pcap");
    let mut w = xconnect_capture::PcapWriter::create(&cap, 65535).unwrap();
    let flooded = UdpFrameTemplate { src_port: 40_000, dst_port: 50_000, ..UdpFrameTemplate::default() };
    let other = UdpFrameTemplate { src_port: 30_000, dst_port: 20_000, ..UdpFrameTemplate::default() };
    let mut buf = [0u8; 256];
    let mut put = |t: &UdpFrameTemplate, ts: u64, seq: u16, ssrc: u32| {
        let rtp = RtpRepr {
            marker: false,
            payload_type: PayloadType::PCMU,
            sequence_number: seq,
            timestamp: u32::from(seq) * 160,
            ssrc,
        };
        let len = t.emit_rtp(&mut buf, seq, &rtp, &[0xff; 160]);
        w.write_packet(ts, LinkType::Ethernet, &buf[..len], len as u32).unwrap();
    };
    // 16,000 single-packet SSRCs in the first 16 ms fill the conversation's 15,625 places.
    for i in 0..16_000u32 {
        put(&flooded, u64::from(i) * 1_000, 1, 1_000_000 + i);
    }
    // Then 5 s of one call each way: the flooded conversation's stream is not kept.
    for k in 0..250u16 {
        let ts = 20_000_000 + u64::from(k) * 20_000_000;
        put(&flooded, ts, k, 7);
        put(&other, ts, k, 8);
    }
    w.finish().unwrap();
    let replay = json_of(&["replay", s(&cap), "--json"]);
    let untracked = replay["rtp_untracked_packets"].as_u64().unwrap();
    assert_eq!(untracked, 16_000 - 15_625 + 250);
    let fit = json_of(&["fit", s(&cap), "--json"]);
    let note = format!("{untracked} RTP packets belong to streams beyond the analysis's bound");
    assert!(fit["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().starts_with(&note)), "{fit}");
}
