//! SIP and RTCP in replay: tshark's `sip,stat` on every capture with SIP, the calls list,
//! and bad signalling counted with a reason.

use std::net::Ipv4Addr;
use std::path::Path;

use serde_json::Value;
use xconnect_capture::PcapWriter;
use xconnect_frame::compose::UdpFrameTemplate;
use xconnect_frame::LinkType;

use crate::util::{pcap, pcap_dir, require_tool, xconnect};
use crate::voice::{assert_streams_agree, parse_tshark_streams, rewrite};

fn replay(path: &Path) -> Value {
    let out = xconnect(&["replay", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// tshark's sip,stat text: (messages, resent, responses, requests, (avg, min, max)).
type SipStat = (u64, u64, Vec<(String, u64)>, Vec<(String, u64)>, (u64, u64, u64));

fn parse_sip_stat(text: &str) -> SipStat {
    let num = |l: &str| l.split(':').nth(1).unwrap().split_whitespace().next().unwrap().parse::<u64>().unwrap();
    let mut st: SipStat = (0, 0, Vec::new(), Vec::new(), (0, 0, 0));
    let mut section = 0;
    for l in text.lines() {
        if l.starts_with("Number of SIP messages") {
            st.0 = num(l);
        } else if l.starts_with("Number of resent") {
            st.1 = num(l);
        } else if l.starts_with("* SIP Status Codes") {
            section = 1;
        } else if l.starts_with("* List of SIP Request") {
            section = 2;
        } else if let Some(v) = l.strip_prefix("* Average setup time ") {
            st.4 .0 = v.split_whitespace().next().unwrap().parse().unwrap();
            section = 3;
        } else if let Some(v) = l.strip_prefix(" Min ") {
            st.4 .1 = v.split_whitespace().next().unwrap().parse().unwrap();
        } else if let Some(v) = l.strip_prefix(" Max ") {
            st.4 .2 = v.split_whitespace().next().unwrap().parse().unwrap();
        } else if section == 1 && l.trim_start().starts_with("SIP ") {
            let code = l.split_whitespace().nth(1).unwrap().to_string();
            st.2.push((code, l.rsplit(':').next().unwrap().split_whitespace().next().unwrap().parse().unwrap()));
        } else if section == 2 && l.contains(':') {
            st.3.push((l.split_whitespace().next().unwrap().to_string(), num(l)));
        }
    }
    st
}

#[test]
fn sip_stat_equals_tshark_on_every_capture_with_sip() {
    let mut checked = 0;
    for entry in std::fs::read_dir(pcap_dir().join("oracle")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(capture) = name.strip_suffix(".sip-stat.txt") else { continue };
        let want = parse_sip_stat(&std::fs::read_to_string(pcap_dir().join("oracle").join(&name)).unwrap());
        let v = replay(&pcap(capture));
        let s = &v["sip"];
        assert_eq!((s["messages"].as_u64().unwrap(), s["resent"].as_u64().unwrap()), (want.0, want.1), "{capture}");
        let mut responses: Vec<(String, u64)> =
            s["responses"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
        let mut requests: Vec<(String, u64)> =
            s["requests"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
        let (mut want_resp, mut want_req) = (want.2.clone(), want.3.clone());
        for v in [&mut responses, &mut requests, &mut want_resp, &mut want_req] {
            v.sort();
        }
        assert_eq!(responses, want_resp, "{capture}: responses");
        assert_eq!(requests, want_req, "{capture}: requests");
        // tshark adds setup times in 32 bits: compare modulo 2^32 (README: tshark wraps).
        let wrap = |x: u64| x % (1 << 32);
        match s["setup_ms"].as_object() {
            None => assert_eq!(want.4, (0, 0, 0), "{capture}: tshark has setup times"),
            Some(setup) => {
                let mean = setup["mean"].as_f64().unwrap().floor() as u64;
                let got = (wrap(mean), wrap(setup["min"].as_u64().unwrap()), wrap(setup["max"].as_u64().unwrap()));
                assert_eq!(got, want.4, "{capture}: setup (mean, min, max)");
            }
        }
        checked += 1;
    }
    assert!(checked >= 3, "the SIP oracles: {checked}");
}

#[test]
fn a_call_over_tcp_with_its_media_and_streams() {
    let v = replay(&pcap("heplify-sip_ipv4_tcp.pcap"));
    let calls = v["sip"]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(c["state"], "completed");
    assert_eq!(c["from"], "sip:101@10.33.6.100");
    // INVITE (frame 3) at 0.005921 s, 200 OK (frame 9) at 4.349461 s, BYE at 6.500977 s.
    assert!((c["setup_ms"].as_f64().unwrap() - 4343.54).abs() < 1e-6, "{}", c["setup_ms"]);
    assert!((c["duration_s"].as_f64().unwrap() - 2.151516).abs() < 1e-9);
    let media = c["media"].as_array().unwrap();
    assert_eq!(media.iter().map(|m| m["sdp"].as_str().unwrap()).collect::<Vec<_>>(), ["offer", "answer"]);
    assert!(media[0]["payload_types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "PCMA" && p["clock_rate"] == 8000));
    assert_eq!(c["streams"].as_array().unwrap().len(), 2, "both directions bound to the call");
    assert!(c["worst_mos"].as_f64().unwrap() > 4.0);
    // The RTCP sender reports name their packet counts; one receiver report gives a round trip.
    assert_eq!(v["rtcp_packets"], 2);
    let with_rtt =
        v["rtp_streams"].as_array().unwrap().iter().filter(|s| !s["rtcp"]["round_trip_ms"].is_null()).count();
    assert_eq!(with_rtt, 1);
}

#[test]
fn bad_signalling_is_counted_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.pcap");
    let mut w = PcapWriter::create(&path, 65535).unwrap();
    let payloads: Vec<(u16, Vec<u8>)> = vec![
        // Truncated: the datagram ends inside the headers.
        (5060, b"INVITE sip:b@y SIP/2.0\r\nCall-ID: 1\r\nCSeq: 1 INV".to_vec()),
        // Content-Length beyond the datagram.
        (5060, b"BYE sip:b@y SIP/2.0\r\nCall-ID: 2\r\nCSeq: 1 BYE\r\nContent-Length: 500\r\n\r\nabc".to_vec()),
        // SDP garbage, and an rtpmap for a payload type the m= line does not list.
        (5060, b"INVITE sip:b@y SIP/2.0\r\nCall-ID: 3\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\n\x00\xffgarbage".to_vec()),
        (5060, b"INVITE sip:b@y SIP/2.0\r\nCall-ID: 4\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nc=IN IP4 192.0.2.9\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:96 opus/48000\r\n".to_vec()),
        // A BYE for a dialog no INVITE started.
        (5060, b"BYE sip:b@y SIP/2.0\r\nCall-ID: nobody\r\nCSeq: 9 BYE\r\n\r\n".to_vec()),
        // RTCP whose length field runs past the datagram.
        (40_001, vec![0x81, 201, 0, 40, 0, 0, 0, 1]),
        // A status code out of range.
        (5060, b"SIP/2.0 99 Odd\r\nCall-ID: 5\r\nCSeq: 1 INVITE\r\n\r\n".to_vec()),
    ];
    let mut buf = [0u8; 2048];
    for (i, (port, p)) in payloads.iter().enumerate() {
        let t = UdpFrameTemplate {
            src_ip: Ipv4Addr::new(192, 0, 2, 1),
            dst_ip: Ipv4Addr::new(192, 0, 2, 2),
            src_port: *port,
            dst_port: *port,
            ..Default::default()
        };
        let len = t.emit(&mut buf, p.len(), |b| b.copy_from_slice(p));
        w.write_packet(1_000_000_000 + i as u64 * 1_000_000, LinkType::Ethernet, &buf[..len], len as u32).unwrap();
    }
    w.finish().unwrap();
    let v = replay(&path);
    let m = &v["malformed"];
    for key in [
        "sip.headers_unterminated",
        "sip.content_length_beyond_datagram",
        "sdp.not_sdp",
        "sdp.rtpmap_for_unlisted_payload_type",
        "sip.bye_or_cancel_for_unknown_dialog",
        "rtcp.length_beyond_datagram",
        "sip.bad_status_code",
    ] {
        assert_eq!(m[key], 1, "{key} in {m}");
    }
    let listed = v["malformed_frames"].as_array().unwrap();
    assert!(listed.iter().any(|f| f["message"].as_str().unwrap().contains("offset 42")), "{listed:?}");
}

fn tshark(args: &[&str]) -> String {
    let out = std::process::Command::new("tshark").arg("-n").args(args).output().unwrap();
    assert!(out.status.success(), "tshark {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn generated_sip_calls_agree_with_tshark() {
    if !require_tool("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("calls.pcap");
    let path = f.to_str().unwrap();
    let out = xconnect(&[
        "generate",
        "-o",
        path,
        "--sip",
        "--calls",
        "12",
        "--seconds",
        "12",
        "--silence-suppression",
        "--comfort-noise",
        "--dtmf-share",
        "0.5",
        "--t38-share",
        "0.3",
        "--codec",
        "g711a",
        "--vlan",
        "100",
        "--seed",
        "5",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = replay(&f);
    let s = &v["sip"];

    // sip,stat, exactly.
    let want = parse_sip_stat(&tshark(&["-r", path, "-q", "-z", "sip,stat"]));
    assert_eq!((s["messages"].as_u64().unwrap(), s["resent"].as_u64().unwrap()), (want.0, want.1));
    let mut requests: Vec<(String, u64)> =
        s["requests"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
    let mut want_req = want.3.clone();
    requests.sort();
    want_req.sort();
    assert_eq!(requests, want_req);
    let setup = &s["setup_ms"];
    assert_eq!(
        (
            setup["mean"].as_f64().unwrap().floor() as u64,
            setup["min"].as_u64().unwrap(),
            setup["max"].as_u64().unwrap()
        ),
        want.4
    );

    // rtp,streams as tshark finds them from the SDP (no heuristics): comfort noise, RFC 4733
    // events and streams cut short by the switch to T.38 included.
    let streams = tshark(&["-r", path, "-q", "-z", "rtp,streams"]);
    assert_eq!(parse_tshark_streams(&streams).len(), 24, "{streams}");
    assert_streams_agree(&v, &streams, "generated SIP calls");

    // The calls: every one completed, both legs bound; T.38 and RTCP counted as tshark does.
    let calls = s["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 12);
    for c in calls {
        assert_eq!(c["state"], "completed", "{c}");
        assert_eq!(c["streams"].as_array().unwrap().len(), 2, "{c}");
        assert!((c["setup_ms"].as_f64().unwrap() - 510.0).abs() < 1e-6);
    }
    let faxes = calls.iter().filter(|c| c["media"].as_array().unwrap().iter().any(|m| m["t38"] == true)).count();
    assert!(faxes > 0 && faxes < 12, "{faxes}");
    let count = |filter: &str| tshark(&["-r", path, "-Y", filter]).lines().count() as u64;
    // Wireshark sees every call: an INVITE dialog per Call-ID, as in our list.
    let mut ids: Vec<String> =
        tshark(&["-r", path, "-Y", "sip.Method == \"INVITE\"", "-T", "fields", "-e", "sip.Call-ID"])
            .lines()
            .map(str::to_string)
            .collect();
    ids.sort();
    ids.dedup();
    let mut ours: Vec<String> = calls.iter().map(|c| c["call_id"].as_str().unwrap().to_string()).collect();
    ours.sort();
    assert_eq!(ids, ours);
    assert_eq!(s["t38_packets"].as_u64().unwrap(), count("t38"));
    assert_eq!(v["rtcp_packets"].as_u64().unwrap(), count("rtcp"));
    let with_events = v["rtp_streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["payload_types"].as_array().unwrap().contains(&101.into()));
    assert_eq!(with_events.count() as u64, count("rtpevent && rtp.marker == 1"));
    // Each leg reports on the other: a receiver report block and a round trip.
    assert!(v["rtp_streams"].as_array().unwrap().iter().any(|r| !r["rtcp"]["round_trip_ms"].is_null()));
}

#[test]
fn rejected_cancelled_and_retried_calls() {
    // ndpi-sip: a call cancelled before an answer (CANCEL, then 408 to the INVITE), and three
    // calls challenged for credentials (407) whose retry (a new INVITE, CSeq 2) fails for good.
    let v = replay(&pcap("ndpi-sip.pcap"));
    let calls = v["sip"]["calls"].as_array().unwrap();
    let states: Vec<(String, Option<u64>)> =
        calls.iter().map(|c| (c["state"].as_str().unwrap().to_string(), c["code"].as_u64())).collect();
    assert_eq!(
        states,
        [
            ("cancelled".to_string(), None),
            ("rejected".to_string(), Some(403)),
            ("rejected".to_string(), Some(403)),
            ("rejected".to_string(), Some(480))
        ]
    );
    assert!(calls.iter().all(|c| c["answer_ns"].is_null() && c["duration_s"].is_null()));
    // The one RTP stream (early media after the 183) is bound to the last call.
    assert_eq!(calls[3]["streams"].as_array().unwrap().len(), 1);
    let text = String::from_utf8(xconnect(&["replay", pcap("ndpi-sip.pcap").to_str().unwrap()]).stdout).unwrap();
    assert!(text.contains("Calls (4): 1 cancelled, 3 rejected"), "{text}");
    assert!(text.contains("rejected 480"), "{text}");
}

#[test]
fn a_dynamic_payload_type_is_clocked_by_its_rtpmap() {
    // Opus on payload type 111 at 48 kHz: only the SDP's a=rtpmap says so. With some arrival
    // jitter added, the jitter must be computed at 48 kHz, as tshark computes it.
    if !require_tool("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("opus.pcap");
    let out = xconnect(&[
        "generate",
        "-o",
        f.to_str().unwrap(),
        "--sip",
        "--codec",
        "opus",
        "--calls",
        "3",
        "--seconds",
        "4",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let jittery = dir.path().join("opus-jitter.pcap");
    rewrite(&f, &jittery, |i, ts, b| vec![(ts + (i * 7919 % 17) * 50_000, b.to_vec())]);
    let path = jittery.to_str().unwrap();
    let v = replay(&jittery);
    let streams = tshark(&["-r", path, "-q", "-z", "rtp,streams"]);
    assert_eq!(parse_tshark_streams(&streams).len(), 6, "{streams}");
    assert_streams_agree(&v, &streams, "opus");
    for s in v["rtp_streams"].as_array().unwrap() {
        assert_eq!(s["payload_type"], 111);
        assert_eq!(s["clock_rate"], 48_000, "the rtpmap's clock, which RTCP's jitter is counted in too");
        assert!(s["max_jitter_ms"].as_f64().unwrap() > 0.0, "jitter measured with the rtpmap's clock");
    }
}

#[test]
fn rtcp_round_trip_agrees_with_tshark_on_a_real_capture() {
    // heplify's call: one receiver report names a captured sender report. tshark computes the
    // round trip as whole ms of the gap minus whole ms of DLSR (each truncated); replay keeps
    // the nanoseconds, so the two differ by less than 1 ms either way.
    if !require_tool("tshark") {
        return;
    }
    let path = pcap("heplify-sip_ipv4_tcp.pcap");
    let out = tshark(&[
        "-o",
        "rtcp.show_roundtrip_calculation:TRUE",
        "-o",
        "rtcp.roundtrip_min_threshhold:0",
        "-r",
        path.to_str().unwrap(),
        "-Y",
        "rtcp.roundtrip-delay",
        "-T",
        "fields",
        "-e",
        "rtcp.ssrc.identifier",
        "-e",
        "rtcp.roundtrip-delay",
    ]);
    let theirs: Vec<(u64, f64)> = out
        .lines()
        .map(|l| {
            let (ssrc, ms) = l.split_once('\t').unwrap();
            let ssrc = ssrc.split(',').next().unwrap();
            (u64::from_str_radix(ssrc.trim_start_matches("0x"), 16).unwrap(), ms.parse().unwrap())
        })
        .collect();
    assert_eq!(theirs.len(), 1, "{out}");
    let v = replay(&path);
    let stream = v["rtp_streams"].as_array().unwrap().iter().find(|s| s["ssrc"] == theirs[0].0).unwrap();
    let ours = stream["rtcp"]["round_trip_ms"]["last"].as_f64().unwrap();
    assert!((ours - theirs[0].1).abs() < 1.0, "ours {ours} ms, tshark {} ms", theirs[0].1);
}
