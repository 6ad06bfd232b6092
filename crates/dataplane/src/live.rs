//! `xconnect replay --iface`: the replay's tally fed from a live port instead of a file, with
//! the same report (layers, flows, RTP streams, SIP, BGP, the tier's what-if), what the kernel
//! dropped before the analyzer saw it, and a line per interval while it runs.
//!
//! A frame's time is the kernel's time of its arrival (`SO_TIMESTAMPNS`, the wall clock), so
//! an analyzer that falls behind for a moment does not add delay or jitter to what it
//! measures. One thread does everything, as the frames arrive one at a time; a capture file
//! replays on several.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use xconnect_capture::pace::is_link_gone;
use xconnect_capture::port::Port;
use xconnect_capture::Packet;
use xconnect_frame::LinkType;

use crate::pipeline::{Outputs, ReplayError};
use crate::police::Duplex;
use crate::replay::{FrameSource, LiveEnd, LiveStats, Progress, Replay, ReplayOptions, ReplayReport};

/// How often the link is looked at while listening.
const LINK_CHECK: Duration = Duration::from_millis(100);

/// One line while a live replay runs: the interval that just ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalLine {
    /// Seconds since the start, at the interval's end.
    pub elapsed_s: f64,
    /// Frames in the interval.
    pub frames: u64,
    /// Their rate, Mbit/s on the wire (without FCS).
    pub mbps: f64,
    /// Everything so far.
    pub total: Progress,
    /// Kernel drops so far.
    pub kernel_drops: u64,
}

/// How long to listen and how often to print.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Listen {
    /// Stop after this long (`None`: until SIGINT/SIGTERM or the link goes down).
    pub seconds: Option<Duration>,
    /// A line every interval (`None`: none).
    pub interval: Option<Duration>,
}

/// One frame received: into the tally, the policer's outputs and `--write`.
fn analyze(tally: &mut Replay, outputs: &mut Outputs, ts_ns: u64, frame: &[u8]) -> Result<(), ReplayError> {
    let p = Packet {
        ts_ns,
        orig_len: frame.len() as u32,
        link_type: LinkType::Ethernet,
        interface: 0,
        data: frame,
        offset: 0,
    };
    let verdict = tally.add(&p);
    outputs.write(verdict, &p).map_err(ReplayError::Write)?;
    if let Some(w) = outputs.received.as_mut() {
        w.write_packet(ts_ns, LinkType::Ethernet, frame, frame.len() as u32).map_err(ReplayError::Write)?;
    }
    Ok(())
}

/// Prints the line of the interval of length `span` that ends `elapsed` after the start, and
/// returns the totals it started from for the next.
fn emit(
    port: &mut Port,
    tally: &Replay,
    before: Progress,
    elapsed: Duration,
    span: Duration,
    line: &mut impl FnMut(&IntervalLine),
) -> Result<Progress, ReplayError> {
    let kernel = port.kernel_stats().map_err(ReplayError::Port)?;
    let total = tally.progress();
    line(&IntervalLine {
        elapsed_s: elapsed.as_secs_f64(),
        frames: total.frames - before.frames,
        mbps: (total.bytes - before.bytes) as f64 * 8.0 / span.as_secs_f64().max(1e-9) / 1e6,
        total,
        kernel_drops: kernel.drops,
    });
    Ok(total)
}

/// Analyzes what arrives on `port` until `listen.seconds` pass, `stop` is set or the link
/// goes down; writes every frame to `outputs.received` (`--write`) and the policer's verdicts
/// to the others. Returns the report (with `live` set) and the writers, unfinished.
pub fn replay_port(
    port: &mut Port,
    opts: ReplayOptions,
    police: Option<Duplex>,
    mut outputs: Outputs,
    listen: Listen,
    stop: &AtomicBool,
    mut line: impl FnMut(&IntervalLine),
) -> Result<(ReplayReport, Outputs), ReplayError> {
    let mut tally = Replay::new(opts, police);
    let start = Instant::now();
    let deadline = listen.seconds.map(|s| start + s);
    let mut next_line = listen.interval.map(|i| start + i);
    let mut last_check = start;
    let mut at_line = Progress { frames: 0, bytes: 0, rtp_streams: 0, policer_dropped: None };
    let ended = loop {
        let now = Instant::now();
        if stop.load(Ordering::Relaxed) {
            break LiveEnd::Stopped;
        }
        if deadline.is_some_and(|d| now >= d) {
            break LiveEnd::Seconds;
        }
        if now - last_check >= LINK_CHECK {
            last_check = now;
            if !port.link_up() {
                break LiveEnd::LinkDown;
            }
        }
        if let (Some(at), Some(every)) = (next_line, listen.interval) {
            if now >= at {
                at_line = emit(port, &tally, at_line, at - start, every, &mut line)?;
                next_line = Some(at + every);
            }
        }
        match port.recv() {
            Ok(Some((ts, frame))) => analyze(&mut tally, &mut outputs, ts, frame)?,
            Ok(None) => {}
            Err(e) if is_link_gone(&e) => break LiveEnd::LinkDown,
            Err(e) => return Err(ReplayError::Port(e)),
        }
    };
    // What had arrived by the end and waits in the socket's buffer is the run's too (a link
    // that went down leaves its last frames there): read it, up to the end's time.
    let end = SystemTime::now().duration_since(UNIX_EPOCH).map_or(u64::MAX, |d| d.as_nanos() as u64);
    while let Ok(Some((ts, frame))) = port.try_recv() {
        if ts > end {
            break;
        }
        analyze(&mut tally, &mut outputs, ts, frame)?;
    }
    // The last, partial interval's line: the lines add up to the report's frames.
    if let (Some(at), Some(every)) = (next_line, listen.interval) {
        let since = start.elapsed();
        let part = every.saturating_sub(at.saturating_duration_since(start + since));
        if part > Duration::ZERO {
            emit(port, &tally, at_line, since, part, &mut line)?;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    // Frames that arrived after the end are not analyzed: the kernel's count includes them
    // (packets - drops - frames).
    let kernel = port.kernel_stats().map_err(ReplayError::Port)?;
    let name = format!("live:{}", port.name());
    let mut report = tally.finish(&name, &FrameSource::live(), None);
    report.live = Some(LiveStats {
        interface: port.name().to_string(),
        seconds,
        kernel_packets: kernel.packets,
        kernel_drops: kernel.drops,
        ended,
    });
    Ok((report, outputs))
}
