//! The HTML reports in a real browser: headless Chromium (Debian's), driven over the DevTools
//! protocol on loopback. Every report the fixtures produce is opened; the test fails on any
//! console message of level error, exception, failed load or request for anything but the
//! report itself (it is self-contained), then checks the DOM (one chart per expected series,
//! titles and both axis labels on each, a legend, something drawn, no NaN/undefined/Infinity
//! text, no script) and that the screenshot is not blank.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::util::{all_pcaps, pcap_dir, require_tool, xconnect};

/// A headless Chromium and one page target, attached.
struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    /// Events received while waiting for replies.
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        // The flags a closed network needs (no background connections), and a fresh profile.
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1200,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromium");
        // Chromium writes the port it took and the browser's path to this file.
        let port_file = profile.path().join("DevToolsActivePort");
        let started = Instant::now();
        let text = loop {
            match std::fs::read_to_string(&port_file) {
                Ok(t) if t.lines().count() >= 2 => break t,
                _ if started.elapsed() > Duration::from_secs(60) => panic!("chromium did not open its DevTools port"),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let mut lines = text.lines();
        let port: u16 = lines.next().unwrap().trim().parse().unwrap();
        let path = lines.next().unwrap().trim().to_string();
        let (ws, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}{path}")).expect("connecting to chromium");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        }
        let mut b = Browser { child, ws, session: String::new(), next_id: 0, events: Vec::new(), _profile: profile };
        let target = b.call("Target.createTarget", json!({ "url": "about:blank" }));
        let id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call("Target.attachToTarget", json!({ "targetId": id, "flatten": true }));
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"] {
            b.call(domain, json!({}));
        }
        b
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => return serde_json::from_str(t.as_str()).unwrap(),
                Ok(_) => continue,
                // A signal (another test's child exiting) interrupts the read: it resumes where it
                // was, as tungstenite keeps what it had read.
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::Interrupted => continue,
                Err(tungstenite::Error::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!("chromium did not answer within 60 s")
                }
                Err(e) => panic!("reading from chromium: {e}"),
            }
        }
    }

    /// Sends a command (to the page's session once attached) and waits for its reply; events
    /// that arrive meanwhile are kept.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        // The frame is queued before it is written: an interrupted write is finished by a flush.
        let mut sent = self.ws.send(Message::text(msg.to_string()));
        while let Err(tungstenite::Error::Io(e)) = &sent {
            if e.kind() != ErrorKind::Interrupted {
                break;
            }
            sent = self.ws.flush();
        }
        sent.expect("sending to chromium");
        loop {
            let v = self.read();
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// Opens `file` and waits for its load event; returns what went wrong on the way: console
    /// errors, exceptions, failed loads and requests for anything but the file.
    fn open(&mut self, file: &Path) -> Vec<String> {
        self.events.clear();
        let url = format!("file://{}", file.canonicalize().unwrap().display());
        let nav = self.call("Page.navigate", json!({ "url": url }));
        assert!(nav.get("errorText").is_none(), "{}: {}", file.display(), nav["errorText"]);
        let started = Instant::now();
        while !self.events.iter().any(|e| e["method"] == "Page.loadEventFired") {
            assert!(started.elapsed() < Duration::from_secs(60), "{}: no load event", file.display());
            let v = self.read();
            self.events.push(v);
        }
        let mut problems = Vec::new();
        for e in &self.events {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.consoleAPICalled" => problems.push(format!("console.{}: {}", p["type"], p["args"])),
                "Runtime.exceptionThrown" => problems.push(format!("exception: {}", p["exceptionDetails"])),
                "Log.entryAdded" if p["entry"]["level"] == "error" || p["entry"]["level"] == "warning" => {
                    problems.push(format!("log {}: {}", p["entry"]["level"], p["entry"]["text"]))
                }
                "Network.loadingFailed" => problems.push(format!("failed load: {}", p["errorText"])),
                "Network.requestWillBeSent" if p["request"]["url"] != json!(url) => {
                    problems.push(format!("request for {}", p["request"]["url"]))
                }
                _ => {}
            }
        }
        problems
    }

    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({ "expression": expr, "returnByValue": true }));
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {}", r["exceptionDetails"]);
        r["result"]["value"].clone()
    }

    /// A PNG of the whole page.
    fn screenshot(&mut self) -> Vec<u8> {
        let r = self.call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true }));
        base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The DOM facts the test checks, gathered in the page.
const FACTS: &str = r#"(() => {
  const charts = [...document.querySelectorAll('figure.chart')].map(f => ({
    id: f.dataset.chart,
    title: (f.querySelector('figcaption') || {}).textContent || '',
    svgTitle: (f.querySelector('svg > title') || {}).textContent || '',
    axisLabels: [...f.querySelectorAll('.axis-label')].map(t => t.textContent),
    legend: f.querySelectorAll('.legend li').length,
    drawn: f.querySelectorAll('.series polyline, .series circle, .series rect, .no-data').length,
    width: f.querySelector('svg').getBoundingClientRect().width,
  }));
  const attrs = [...document.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name + '=' + a.value));
  return {
    charts,
    // What the report computed (charts, figures, numeric cells), not strings from a capture
    // (a SIP header may say anything).
    text: [...document.querySelectorAll('figure, .facts dd, td.n, th, .verdict, .note')].map(e => e.textContent).join(' | '),
    badAttrs: attrs.filter(a => /NaN|undefined|Infinity/.test(a)),
    handlers: attrs.filter(a => /^on/i.test(a)),
    scripts: document.scripts.length,
    external: [...document.querySelectorAll('[src],[href]')].map(e => e.getAttribute('src') || e.getAttribute('href')),
  };
})()"#;

/// Checks one report in the browser: `expected` chart ids (their number, and each present).
fn check_report(b: &mut Browser, file: &Path, expected: &[String]) {
    let problems = b.open(file);
    assert!(problems.is_empty(), "{}: {problems:#?}", file.display());
    let f = b.eval(FACTS);
    let charts = f["charts"].as_array().unwrap();
    let ids: Vec<&str> = charts.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), expected.len(), "{}: charts {ids:?}, expected {expected:?}", file.display());
    for e in expected {
        assert!(ids.contains(&e.as_str()), "{}: no chart {e} in {ids:?}", file.display());
    }
    for c in charts {
        let id = &c["id"];
        assert!(!c["title"].as_str().unwrap().trim().is_empty() && c["title"] == c["svgTitle"], "{id}: title {c}");
        let labels = c["axisLabels"].as_array().unwrap();
        assert_eq!(labels.len(), 2, "{id}: axis labels {labels:?}");
        assert!(labels.iter().all(|l| !l.as_str().unwrap().trim().is_empty()), "{id}: empty axis label");
        assert!(c["legend"].as_u64().unwrap() >= 1, "{id}: no legend");
        assert!(c["drawn"].as_u64().unwrap() >= 1, "{}: {id}: nothing drawn, and no word why", file.display());
        assert!(c["width"].as_f64().unwrap() > 200.0, "{id}: laid out {} px wide", c["width"]);
    }
    let text = f["text"].as_str().unwrap();
    for bad in ["NaN", "undefined", "Infinity"] {
        assert!(!text.contains(bad), "{}: the report's figures say {bad}: {text}", file.display());
    }
    assert_eq!(f["badAttrs"], json!([]), "{}", file.display());
    assert_eq!(f["handlers"], json!([]), "{}: event handlers", file.display());
    assert_eq!(
        f["scripts"],
        json!(0),
        "{}: a report has no script (it reads the same with JavaScript off)",
        file.display()
    );
    assert_eq!(f["external"], json!([]), "{}: a report links nothing", file.display());
    let png = b.screenshot();
    assert_not_blank(&png, file);
}

/// The screenshot is not one colour: at least 1 % of its pixels differ from the first, and
/// some are neither white nor that colour (text, lines).
fn assert_not_blank(png: &[u8], file: &Path) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let data = &buf[..info.buffer_size()];
    let first = &data[..px];
    let differ = data.chunks(px).filter(|p| p != &first).count();
    let total = data.len() / px;
    assert!(
        info.width >= 800 && info.height >= 600 && differ * 100 >= total,
        "{}: the screenshot ({}x{}) is blank ({differ} of {total} pixels differ)",
        file.display(),
        info.width,
        info.height
    );
}

/// The JSON of a run that may stop on a damaged capture (exit 2: the report covers what was
/// read, and so does its HTML).
fn json_of(args: &[&str]) -> Value {
    let out = xconnect(args);
    assert!(out.status.success() || out.status.code() == Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// The chart ids a simulate report has: seven per series with frames.
fn simulate_charts(v: &Value) -> Vec<String> {
    let slug = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
        out.trim_matches('-').to_string()
    };
    v["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["t_s"].as_array().unwrap().is_empty())
        .flat_map(|s| {
            let id = format!("{}-{}", slug(s["site"].as_str().unwrap()), s["direction"].as_str().unwrap());
            ["rate", "drops", "jitter", "calls", "mos-time", "mos", "delay"].map(|k| format!("{k}-{id}"))
        })
        .collect()
}

/// The chart ids a replay report has.
fn replay_charts(v: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    if !v["series"]["t_s"].as_array().unwrap().is_empty() {
        ids.push("rate".to_string());
        if let Some(ps) = v.get("policer_series") {
            for dir in ["to_provider", "to_customer"] {
                if !ps[dir]["t_s"].as_array().unwrap().is_empty() {
                    ids.extend([format!("rate-{dir}"), format!("drops-{dir}")]);
                }
            }
        }
        if !v["rtp_streams"].as_array().unwrap().is_empty() {
            ids.push("streams".into());
        }
        if v["series"]["mos_mean"].as_array().unwrap().iter().any(|j| !j.is_null()) {
            ids.push("mos".into());
        }
        if v["series"]["jitter_ms_mean"].as_array().unwrap().iter().any(|j| !j.is_null()) {
            ids.push("jitter".into());
        }
    }
    ids
}

#[test]
fn every_report_the_fixtures_make_renders_in_chromium() {
    if !require_tool("chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut b = Browser::launch();
    let mut checked = 0;

    // Every scenario (the long failover ones in full: their failovers are the point).
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(pcap_dir().join("../scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 5, "{scenarios:?}");
    for sc in &scenarios {
        let name = sc.file_stem().unwrap().to_str().unwrap();
        let html = dir.path().join(format!("simulate-{name}.html"));
        let mut args = vec!["simulate", sc.to_str().unwrap(), "--json", "--report", html.to_str().unwrap()];
        if !name.starts_with("failover") {
            args.extend(["--seconds", "3"]);
        }
        let v = json_of(&args);
        let expected = simulate_charts(&v);
        assert!(!expected.is_empty(), "{name}");
        check_report(&mut b, &html, &expected);
        checked += 1;
    }
    // The built-in default, whose screenshot the README shows.
    let html = dir.path().join("simulate-default.html");
    let v = json_of(&["simulate", "--seconds", "2", "--json", "--report", html.to_str().unwrap()]);
    check_report(&mut b, &html, &simulate_charts(&v));

    // A capacity search.
    let html = dir.path().join("capacity.html");
    json_of(&["capacity", "--tier", "10M", "--seconds", "1", "--json", "--report", html.to_str().unwrap()]);
    check_report(&mut b, &html, &["capacity-trials".to_string()]);

    // Every capture, with the 10M tier's what-if on the ones with RTP (drops charted).
    for p in all_pcaps() {
        let name = p.file_stem().unwrap().to_str().unwrap().to_string();
        let html = dir.path().join(format!("replay-{name}.html"));
        let mut args = vec!["replay", p.to_str().unwrap(), "--json", "--report", html.to_str().unwrap()];
        if name.contains("sip") || name.contains("g711") || name.contains("dtmf") {
            args.extend(["--tier", "10M"]);
        }
        let v = json_of(&args);
        check_report(&mut b, &html, &replay_charts(&v));
        checked += 1;
    }
    assert!(checked >= 25, "{checked} reports checked");
}

#[test]
fn an_empty_capture_gives_a_report_that_says_so() {
    if !require_tool("chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut b = Browser::launch();
    let html = dir.path().join("empty.html");
    let v = json_of(&[
        "replay",
        pcap_dir().join("tcpdump-empty.pcapng").to_str().unwrap(),
        "--json",
        "--report",
        html.to_str().unwrap(),
    ]);
    assert_eq!(v["frames"], 0);
    check_report(&mut b, &html, &[]);
    let text = b.eval("document.body.innerText");
    assert!(text.as_str().unwrap().contains("The capture holds no frame"), "{text}");
}

#[test]
fn the_browser_check_sees_what_a_broken_page_does() {
    if !require_tool("chromium") {
        return;
    }
    // The harness itself: a page that fetches something, logs an error and throws is caught.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"missing.png\"><script>console.error('boom'); null.x;</script></body></html>",
    )
    .unwrap();
    let mut b = Browser::launch();
    let problems = b.open(&page).join("\n");
    assert!(problems.contains("request for") && problems.contains("missing.png"), "{problems}");
    assert!(problems.contains("console.\"error\""), "{problems}");
    assert!(problems.contains("exception"), "{problems}");
    // A blank page's screenshot is blank.
    std::fs::write(&page, "<!DOCTYPE html><html><body></body></html>").unwrap();
    assert!(b.open(&page).is_empty());
    let png = b.screenshot();
    let blank = std::panic::catch_unwind(|| assert_not_blank(&png, &page));
    assert!(blank.is_err(), "a white page passed as not blank");
}
