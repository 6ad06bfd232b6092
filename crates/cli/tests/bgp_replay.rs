//! BGP in captures: every BGP message of the fixture captures decoded by `xconnect replay` and
//! compared with what tshark says (fixtures/pcap/oracle/*.bgp.tsv: frame, message types, OPEN
//! My AS, hold time, NLRI, withdrawn routes, NOTIFICATION code), plus reassembly of messages
//! split across TCP segments.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::{pcap, xconnect};

fn bgp(file: &std::path::Path) -> Value {
    let out = xconnect(&["replay", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["bgp"].clone()
}

fn list(s: &str) -> Vec<String> {
    s.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// Rows with a column per field, keyed by frame.
fn check_against_tshark(name: &str) {
    let tsv = std::fs::read_to_string(pcap("oracle").join(format!("{name}.bgp.tsv"))).unwrap();
    let b = bgp(&pcap(name));
    let mut want_types: BTreeMap<&str, u64> = BTreeMap::new();
    let mut want_opens = Vec::new();
    let mut want_nlri: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut want_wd: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut want_notify = Vec::new();
    for line in tsv.lines() {
        let c: Vec<&str> = line.split('\t').collect();
        let frame: u64 = c[0].parse().unwrap();
        for t in list(c[1]) {
            let name = match t.as_str() {
                "1" => "open",
                "2" => "update",
                "3" => "notification",
                "4" => "keepalive",
                "5" => "route_refresh",
                other => panic!("type {other}"),
            };
            *want_types.entry(name).or_default() += 1;
        }
        for (asn, hold) in list(c[2]).iter().zip(list(c[3])) {
            want_opens.push((frame, asn.parse::<u64>().unwrap(), hold.parse::<u64>().unwrap()));
        }
        if !c[4].is_empty() {
            want_nlri.insert(frame, list(c[4]));
        }
        if !c[5].is_empty() {
            want_wd.insert(frame, list(c[5]));
        }
        for code in list(c[6]) {
            want_notify.push((frame, code.parse::<u64>().unwrap()));
        }
    }
    let got_types: BTreeMap<&str, u64> =
        b["messages"].as_object().unwrap().iter().map(|(k, v)| (k.as_str(), v.as_u64().unwrap())).collect();
    assert_eq!(got_types, want_types, "{name}: messages per type");
    let got_opens: Vec<(u64, u64, u64)> = b["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["open"].as_array().unwrap().clone())
        .map(|o| (o["frame"].as_u64().unwrap(), o["my_as"].as_u64().unwrap(), o["hold"].as_u64().unwrap()))
        .collect();
    let mut got_opens_sorted = got_opens.clone();
    got_opens_sorted.sort();
    assert_eq!(got_opens_sorted, want_opens, "{name}: OPENs (frame, My AS, hold)");
    let by_frame = |key: &str| {
        let mut m: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for r in b[key].as_array().unwrap() {
            let p = r["prefix"].as_str().unwrap();
            m.entry(r["frame"].as_u64().unwrap()).or_default().push(p.split('/').next().unwrap().to_string());
        }
        m
    };
    assert_eq!(by_frame("announced"), want_nlri, "{name}: announced prefixes per frame");
    assert_eq!(by_frame("withdrawn"), want_wd, "{name}: withdrawn prefixes per frame");
    let got_notify: Vec<(u64, u64)> = b["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["frame"].as_u64().unwrap(), n["code"].as_u64().unwrap()))
        .collect();
    assert_eq!(got_notify, want_notify, "{name}: NOTIFICATIONs (frame, code)");
    assert_eq!(b["errors"], serde_json::json!([]), "{name}: decode errors");
}

#[test]
fn bgp_messages_match_tshark() {
    for name in [
        "pcapplusplus-bgp-packets.pcap",
        "tcpdump-bgp-4byte-asn.pcap",
        "arkime-bgp-md5.pcap",
        "tcpdump-bgp-malformed-hard-reset.pcap",
    ] {
        check_against_tshark(name);
    }
}

#[test]
fn bgp_details_beyond_the_oracle() {
    // 4-octet ASNs: the OPEN's My AS is AS_TRANS, the capability carries the real ASN.
    let b = bgp(&pcap("tcpdump-bgp-4byte-asn.pcap"));
    let open = &b["sessions"][0]["open"][0];
    assert_eq!(open["my_as"], 23456);
    assert_eq!(open["asn"], 2_764_334_674u64);
    assert!(open["capabilities"].as_array().unwrap().iter().any(|c| c == "4-octet-as"));
    assert_eq!(b["sessions"][0]["server"].as_str().unwrap().rsplit(':').next(), Some("179"));
    // Host routes (/32) are flagged as the provider would reject them.
    let v = b["policy_violations"].as_array().unwrap();
    assert!(!v.is_empty());
    assert!(v.iter().all(|r| r["reason"] == "too_specific"), "{v:?}");
    // NOTIFICATION meanings.
    let b = bgp(&pcap("tcpdump-bgp-malformed-hard-reset.pcap"));
    assert_eq!(b["notifications"][0]["meaning"], "Cease / Hard Reset");
    let b = bgp(&pcap("pcapplusplus-bgp-packets.pcap"));
    let meanings: Vec<&str> =
        b["notifications"].as_array().unwrap().iter().map(|n| n["meaning"].as_str().unwrap()).collect();
    assert_eq!(meanings, ["Cease / Administrative Reset", "Cease / Administrative Shutdown"]);
    assert_eq!(b["announced"][0]["as_path"], "10 20 40");
    assert_eq!(b["announced"][0]["next_hop"], "30.3.30.3");
}
