//! `xconnect validate` and `xconnect simulate` with the control plane, through the binary.

use serde_json::Value;

use crate::util::{pcap_dir, xconnect};

fn fixture(dir: &str, name: &str) -> String {
    pcap_dir().join("..").join(dir).join(name).to_str().unwrap().to_string()
}

#[test]
fn validate_accepts_a_good_request_and_notes_the_asn() {
    let f = fixture("requests", "guide-ashburn.toml");
    let out = xconnect(&["validate", &f, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["request"]["location"], "Ashburn");
    assert_eq!(v["request"]["routes"], serde_json::json!(["45.64.0.0/22", "185.1.2.0/24"]));
    assert!(v["notes"][0].as_str().unwrap().contains("private ASN"), "{v}");
}

#[test]
fn validate_lists_every_problem_with_field_and_line() {
    let f = fixture("requests", "bad.toml");
    let out = xconnect(&["validate", &f, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let got: Vec<(String, u64)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["field"].as_str().unwrap().to_string(), p["line"].as_u64().unwrap()))
        .collect();
    let want = [
        ("account_sid", 2),
        ("bandwidth", 4),
        ("asn", 5),
        ("routes[0]", 7),
        ("routes[2]", 9),
        ("routes[3]", 10),
        ("routes[4]", 11),
    ];
    assert_eq!(got, want.map(|(f, l)| (f.to_string(), l)));
    // The text form says the same, one line each.
    let out = xconnect(&["validate", &f]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "line 7: routes[0]: 10.20.0.0/16: inside special-purpose block 10.0.0.0/8 (private use, RFC 1918)"
        ),
        "{text}"
    );
    assert!(text.contains("500M is not sold in san-jose"), "{text}");
    // A file that is not there.
    let out = xconnect(&["validate", "/nonexistent/request.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/request.toml"));
}

#[test]
fn simulate_failover_scenario_reports_the_timeline() {
    let f = fixture("scenarios", "failover-bfd.toml");
    let out = xconnect(&["simulate", &f, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &v["control"];
    assert_eq!(c["detection"], "BFD 300 ms x 3");
    let f = &c["failovers"][0];
    assert_eq!(f["site"], "ashburn");
    assert_eq!(f["moved_to"], "san-jose");
    let outage = f["outage_s"].as_f64().unwrap();
    assert!(outage > 0.6 - 0.3 && outage <= 0.9 + 0.01, "{outage}");
    assert_eq!(c["survivors"][0]["carried"], true);
    assert!(c["onboarding"][1]["loa"]["data_center"].as_str().unwrap().starts_with("Equinix SV"));
    assert!(v["verdict"].as_str().unwrap().contains("detected by BFD"));
    // The terminal form shows the failover.
    let out = xconnect(&["simulate", &fixture("scenarios", "failover-bfd.toml")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("failover of ashburn at 30.000 s: detected by BFD"), "{text}");
    // Unknown sites and impossible times: every problem, nothing simulated, exit 1.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(fixture("scenarios", "failover-bfd.toml"))
        .unwrap()
        .replace("at = \"30s\"\nsite = \"ashburn\"", "at = \"-3s\"\nsite = \"atlantis\"");
    std::fs::write(&bad, text).unwrap();
    let out = xconnect(&["simulate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml: 2 problem(s)"), "{err}");
    assert!(err.contains("line 39: events[0].at: expected a time such as \"30s\", \"1500ms\" or a number of seconds; found the text \"-3s\""), "{err}");
    assert!(err.contains("line 40: events[0].site: \"atlantis\": no such site"), "{err}");
    assert!(out.stdout.is_empty());
}
