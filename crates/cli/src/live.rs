//! The live-port commands: `generate --iface` and `replay FILE --to-iface` send paced frames;
//! `replay --iface` analyzes what arrives. Each opens and checks its port before anything is
//! sent or read, stops cleanly on SIGINT/SIGTERM with the report so far, and ends with exit
//! code 2 (and the report so far) when the link goes down.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use xconnect_capture::pace::{send_paced, Ended, PacingReport};
use xconnect_capture::port::{Port, Role};
use xconnect_capture::CaptureReader;
use xconnect_frame::LinkType;

/// The longest a capture may take to send (its span over `--speed`, times `--loop`).
pub const MAX_SEND_SECONDS: f64 = 86_400.0;

/// The stop flag: set by SIGINT or SIGTERM, looked at by the loops between frames.
pub fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing the signal handler")?;
    }
    Ok(stop)
}

/// Opens `name`, naming the flag in the error.
pub fn open(flag: &str, name: &str, role: Role) -> anyhow::Result<Port> {
    Port::open(name, role).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

/// The JSON of a paced send (`generate --iface --json`, `replay --to-iface --json`).
#[derive(Debug, Serialize)]
pub struct SendReport {
    /// The interface.
    pub interface: String,
    /// Frames sent.
    pub frames: u64,
    /// Their bytes (without FCS).
    pub bytes: u64,
    /// From the first send to the last, s.
    pub seconds: f64,
    /// From the first frame's time to the last's, s (after `--speed`).
    pub scheduled_seconds: f64,
    /// Frames per second achieved.
    pub frames_per_s: f64,
    /// Mbit/s achieved.
    pub mbps: f64,
    /// Actual minus scheduled send time, µs.
    pub pacing_error_us: Pacing,
    /// Frames more than 1 ms late.
    pub late_over_1ms: u64,
    /// Frames whose time went backwards (sent right after the one before).
    pub out_of_order: u64,
    /// Frames longer than the interface's MTU: not sent.
    pub too_large: u64,
    /// Frames the capture had cut to its snap length: sent as captured, shorter.
    pub cut_by_snaplen: u64,
    /// Passes over the capture completed (`--loop`).
    pub loops: u64,
    /// "done", "stopped" or "link down".
    pub ended: &'static str,
}

/// Pacing error percentiles, µs.
#[derive(Debug, Serialize)]
pub struct Pacing {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl SendReport {
    fn of(interface: &str, r: &PacingReport, cut_by_snaplen: u64, loops: u64) -> SendReport {
        SendReport {
            interface: interface.to_string(),
            frames: r.frames,
            bytes: r.bytes,
            seconds: r.seconds,
            scheduled_seconds: r.scheduled_seconds,
            frames_per_s: r.frames_per_s(),
            mbps: r.mbps(),
            pacing_error_us: Pacing { p50: r.error_p50_us, p99: r.error_p99_us, max: r.error_max_us },
            late_over_1ms: r.late_over_1ms,
            out_of_order: r.out_of_order,
            too_large: r.too_large,
            cut_by_snaplen,
            loops,
            ended: r.ended.name(),
        }
    }

    fn text(&self) -> String {
        let mut s = format!(
            "sent {} frames ({:.1} MB) on {} in {:.3} s (scheduled {:.3} s): {:.0} frames/s, {:.2} Mbit/s\n\
             pacing error (actual - scheduled send time): p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs; {} frames more than 1 ms late\n",
            self.frames,
            self.bytes as f64 / 1e6,
            self.interface,
            self.seconds,
            self.scheduled_seconds,
            self.frames_per_s,
            self.mbps,
            self.pacing_error_us.p50,
            self.pacing_error_us.p99,
            self.pacing_error_us.max,
            self.late_over_1ms,
        );
        for (n, what) in [
            (self.out_of_order, "frames whose time went backwards, sent right after the frame before"),
            (self.too_large, "frames longer than the interface's MTU, not sent"),
            (self.cut_by_snaplen, "frames the capture had cut to its snap length, sent as captured"),
        ] {
            if n > 0 {
                s += &format!("{n} {what}\n");
            }
        }
        if self.ended != "done" {
            s += &format!("ended early: {}\n", self.ended);
        }
        s
    }

    /// Prints the report and returns the exit code: 2 when the link went down.
    pub fn emit(&self, json: bool) -> anyhow::Result<ExitCode> {
        crate::emit(json, self, || self.text())?;
        Ok(if self.ended == Ended::LinkDown.name() { ExitCode::from(2) } else { ExitCode::SUCCESS })
    }
}

/// `generate … --iface IF`: the generator's frames sent at their own times.
pub fn send_generated(
    iface: &str,
    mut next: impl FnMut(&mut [u8]) -> Option<(u64, usize)>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut port = open("--iface", iface, Role::Send)?;
    let stop = stop_flag()?;
    let r = send_paced(&mut port, &stop, |buf| next(buf)).with_context(|| format!("sending on {iface}"))?;
    SendReport::of(iface, &r, 0, u64::from(r.ended == Ended::Done)).emit(json)
}

/// `replay FILE --to-iface IF [--speed X] [--loop N]`: a capture's Ethernet frames sent at
/// their own times (divided by `speed`), `loops` times over, each pass right after the last.
pub fn send_capture(file: &Path, iface: &str, speed: f64, loops: u64, json: bool) -> anyhow::Result<ExitCode> {
    if !(speed.is_finite() && speed > 0.0 && speed <= 1e6) {
        anyhow::bail!("--speed {speed}: expected a factor above 0 and at most 1000000 (2 sends twice as fast)");
    }
    if !(1..=1_000_000).contains(&loops) {
        anyhow::bail!("--loop {loops}: expected 1 to 1000000 passes over the capture");
    }
    let open_file = || CaptureReader::open(file).with_context(|| format!("cannot replay {}", file.display()));
    // A first pass, before anything is sent: every frame must be Ethernet, and the run must
    // end within a day (a capture's own times can span years, by error or not).
    let mut reader = open_file()?;
    let (mut frames, mut span) = (0u64, None::<(u64, u64)>);
    while let Ok(Some(p)) = reader.next_packet() {
        if p.link_type != LinkType::Ethernet {
            anyhow::bail!(
                "{}: the frame at byte {} is {}, not Ethernet: only Ethernet frames can be sent on a Layer-2 port",
                file.display(),
                p.offset,
                p.link_type
            );
        }
        frames += 1;
        span = Some(span.map_or((p.ts_ns, p.ts_ns), |(a, b)| (a.min(p.ts_ns), b.max(p.ts_ns))));
    }
    let seconds = span.map_or(0.0, |(a, b)| (b - a) as f64 / 1e9) / speed * loops as f64;
    if seconds > MAX_SEND_SECONDS {
        anyhow::bail!(
            "{}: {frames} frames over {:.0} s at --speed {speed}, {loops} time(s): {seconds:.0} s of sending, more \
             than a day ({MAX_SEND_SECONDS} s); raise --speed or lower --loop",
            file.display(),
            span.map_or(0.0, |(a, b)| (b - a) as f64 / 1e9)
        );
    }
    eprintln!("xconnect: sending {frames} frames, {loops} time(s), over {seconds:.3} s on {iface}");
    let mut reader = open_file()?;
    let mut port = open("--to-iface", iface, Role::Send)?;
    let stop = stop_flag()?;
    let (mut pass, mut cut, mut base, mut last) = (0u64, 0u64, 0u64, 0u64);
    let mut first_of_pass: Option<u64> = None;
    let mut failure: Option<anyhow::Error> = None;
    let r = send_paced(&mut port, &stop, |buf| loop {
        match reader.next_packet() {
            Ok(Some(p)) => {
                let first = *first_of_pass.get_or_insert(p.ts_ns);
                let t = base + (p.ts_ns.saturating_sub(first) as f64 / speed) as u64;
                last = last.max(t);
                if (p.orig_len as usize) > p.data.len() {
                    cut += 1;
                }
                let n = p.data.len().min(buf.len());
                buf[..n].copy_from_slice(&p.data[..n]);
                return Some((t, n));
            }
            Ok(None) => {
                pass += 1;
                if pass == loops {
                    return None;
                }
                // The next pass starts right after this one's last frame.
                base = last;
                first_of_pass = None;
                match open_file() {
                    Ok(r) => reader = r,
                    Err(e) => {
                        failure = Some(e);
                        return None;
                    }
                }
            }
            Err(e) => {
                failure = Some(anyhow::anyhow!("{}: stopped at byte {}: {}", file.display(), e.offset, e.message()));
                return None;
            }
        }
    })
    .with_context(|| format!("sending on {iface}"))?;
    let code = SendReport::of(iface, &r, cut, pass).emit(json)?;
    if let Some(e) = failure {
        eprintln!("xconnect: {e:#}");
        return Ok(ExitCode::from(2));
    }
    Ok(code)
}

/// `replay --iface IF --interval D`: a line per interval while it runs, on stderr (so that
/// `--json` stays one object on stdout).
pub fn listen_line(line: &xconnect_dataplane::live::IntervalLine) {
    let t = &line.total;
    let policer = t.policer_dropped.map_or(String::new(), |d| format!(", policer drops {d}"));
    eprintln!(
        "{:>9.1} s  {:>9} frames  {:>9.3} Mbit/s  {} RTP streams  kernel drops {}{policer}",
        line.elapsed_s, line.frames, line.mbps, t.rtp_streams, line.kernel_drops
    );
}
