//! `xconnect fit`: a scenario learned from a capture.
//!
//! The capture is replayed once (the same analysis as `xconnect replay`: RTP streams, SIP
//! calls) and read once more for the load per direction and VLAN. From those:
//! - [`calls`]: streams grouped into calls (SIP dialogs, else the streams between two
//!   endpoints), each call's codec, packet time, silence suppression, comfort noise and DTMF;
//! - [`stats`]: the arrival process tested against Poisson, the holding times fitted as
//!   exponential and lognormal;
//! - [`load`]: bytes, frame sizes and 1 ms / 1 s peaks per direction and VLAN;
//! - [`sides`]: which end is the customer's;
//! - [`scenario`]: the scenario written as TOML, each number with a comment saying where it
//!   came from and how well it fits.
#![deny(missing_docs)]

pub mod calls;
pub mod load;
pub mod scenario;
pub mod sides;
pub mod stats;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Serialize;
use xconnect_dataplane::pipeline::{replay_file, Outputs, ReplayError};
use xconnect_dataplane::replay::{ReplayOptions, ReplayReport};
use xconnect_interconnect::{Location, Tier};

use crate::calls::{Call, ClassKey, Kind};
use crate::load::SiteKey;
use crate::sides::Sides;
use crate::stats::{ExpTest, HoldFit};

/// The shortest capture fitted: below it not even a load can be stated.
pub const MIN_SECONDS: f64 = 1.0;

/// A call whose first (last) packet is this close to the capture's start (end) was probably
/// up before (after) it: its start is not an arrival, its span not a holding time. SIP calls
/// carry their own start (the answer) and end (the BYE).
pub const EDGE_GUARD_NS: u64 = 1_000_000_000;

/// The busy hour's width.
pub const HOUR_NS: u64 = 3_600_000_000_000;

/// The longest scenario: a day.
pub const MAX_SCENARIO_NS: u64 = 86_400_000_000_000;

/// Streams with fewer packets say little of the network's jitter.
pub const MIN_JITTER_PACKETS: u64 = 50;

/// How `fit` is asked.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Which end is the customer's.
    pub sides: Sides,
    /// Growth of the load, percent (0: as captured).
    pub growth_pct: f64,
    /// Fit the busiest hour only.
    pub busy_hour: bool,
    /// Every site's tier (`None`: the smallest that carries its busier direction's 1 s peak).
    pub tier: Option<Tier>,
    /// Every site's location (`None`: Ashburn, said to be a default).
    pub location: Option<Location>,
    /// Sites by prefix (`--site-prefix NAME=PREFIX`): a call belongs to the first whose
    /// prefix holds one of its addresses (empty: sites by VLAN id).
    pub site_prefixes: Vec<(String, ipnet::IpNet)>,
    /// Replay threads.
    pub threads: usize,
}

/// The most growth accepted, percent (ten times the load).
pub const MAX_GROWTH_PCT: f64 = 900.0;

/// A fit that could not be made.
#[derive(Debug)]
pub enum FitError {
    /// An option out of range.
    Options(String),
    /// The capture could not be read.
    Replay(ReplayError),
    /// The capture has nothing to fit.
    Nothing(String),
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitError::Options(s) | FitError::Nothing(s) => f.write_str(s),
            FitError::Replay(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FitError {}

/// The window fitted.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// Start, ns since the epoch.
    pub from_ns: u64,
    /// End.
    pub to_ns: u64,
    /// Seconds.
    pub seconds: f64,
    /// The busiest hour of a longer capture.
    pub busy_hour: bool,
}

/// How many calls, and of which kind.
#[derive(Debug, Clone, Serialize)]
pub struct CallCounts {
    /// Calls found (SIP dialogs answered, and groups of streams between two endpoints).
    pub total: usize,
    /// Of them, SIP dialogs.
    pub sip: usize,
    /// With a stream of a codec the simulator knows (the others are not in the scenario).
    pub with_codec: usize,
    /// Up when the window starts (their start is not an arrival).
    pub up_at_start: usize,
    /// Still up when it ends.
    pub up_at_end: usize,
    /// Started and ended inside it: their holding times are fitted.
    pub completed: usize,
}

/// One class of the fitted mix.
#[derive(Debug, Clone, Serialize)]
pub struct ClassFit {
    /// Codec, packet time, silence suppression.
    #[serde(flatten)]
    pub key: ClassKey,
    /// Share of the calls, by time (its Erlangs over all).
    pub share: f64,
    /// Its calls.
    pub calls: usize,
    /// Packets sent over packet times spanned, mean of its audio streams (1: no silence
    /// suppression).
    pub activity: f64,
}

/// Streams of a payload type the simulator has no codec for.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownFit {
    /// Payload type.
    pub payload_type: u8,
    /// Its SDP name, if any.
    pub name: Option<String>,
    /// Streams.
    pub streams: usize,
    /// Packets.
    pub packets: u64,
}

/// Arrivals.
#[derive(Debug, Clone, Serialize)]
pub struct ArrivalsFit {
    /// Calls that started inside the window.
    pub count: usize,
    /// Per second.
    pub rate_per_s: f64,
    /// The test of their inter-arrival times against the exponential (`None`: too few).
    pub test: Option<ExpTest>,
    /// "poisson" or "fixed" (no call started inside the window).
    pub process: &'static str,
}

/// One direction of one site.
#[derive(Debug, Clone, Serialize)]
pub struct DirectionFit {
    /// Site.
    pub site: String,
    /// "to_provider", "to_customer", or "undirected" (the prefixes place neither address).
    pub direction: &'static str,
    /// RTP frames.
    pub frames: u64,
    /// Mean rate of the frames with FCS, Mbit/s.
    pub mbps: f64,
    /// Peak over 1 ms.
    pub peak_1ms_mbps: f64,
    /// Peak over 1 s.
    pub peak_1s_mbps: f64,
    /// The most common frame sizes.
    pub sizes: Vec<load::Size>,
}

/// The network's delay variation, from the streams' jitter.
#[derive(Debug, Clone, Serialize)]
pub struct JitterFit {
    /// Audio streams with at least [`MIN_JITTER_PACKETS`] packets and a jitter.
    pub streams: usize,
    /// Their median mean jitter, ms.
    pub median_mean_jitter_ms: Option<f64>,
    /// The scenario's `delay_variation_ms`: three times it (a uniform delay on [0, V] gives
    /// RFC 3550 jitter V / 3).
    pub delay_variation_ms: f64,
}

/// One site.
#[derive(Debug, Clone, Serialize)]
pub struct SiteFit {
    /// Name.
    pub name: String,
    /// Its VLAN id, when sites are told apart by tag.
    pub vlan: Option<u16>,
    /// Erlangs carried (before growth).
    pub erlangs: f64,
    /// Calls in the scenario (after growth).
    pub calls: u64,
    /// Tier ("10M", "100M", "500M", "1G").
    #[serde(serialize_with = "as_text")]
    pub tier: Tier,
    /// Why that tier.
    pub tier_reason: String,
    /// Location ("ashburn", …).
    #[serde(serialize_with = "as_text")]
    pub location: Location,
}

/// A value as the text it displays as (the names scenario files use).
fn as_text<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Everything `fit` found, and the scenario it wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    /// The capture.
    pub file: String,
    /// How the customer's side was told.
    pub sides: String,
    /// The window fitted.
    pub window: Window,
    /// RTP streams in it.
    pub streams: usize,
    /// Calls.
    pub calls: CallCounts,
    /// The mix, largest share first.
    pub classes: Vec<ClassFit>,
    /// Streams of unknown payload types.
    pub unknown: Vec<UnknownFit>,
    /// Streams of RFC 4733 events alone.
    pub event_streams: usize,
    /// Share of the calls with comfort noise.
    pub comfort_noise_share: f64,
    /// Share of the calls with DTMF events.
    pub dtmf_share: f64,
    /// Of the SIP calls whose offer or answer address the prefixes place, the share the
    /// customer placed (sent the offer); `None` without such calls.
    pub customer_placed_share: Option<f64>,
    /// Offered traffic: calls up on average over the window.
    pub erlangs: f64,
    /// Growth applied, percent.
    pub growth_pct: f64,
    /// Arrivals.
    pub arrivals: ArrivalsFit,
    /// Holding times of the completed calls.
    pub holding: Option<HoldFit>,
    /// The scenario's mean holding time, s: Erlangs over the arrival rate (Little's law),
    /// which counts every call up in the window, not only the completed ones.
    pub mean_hold_s: Option<f64>,
    /// Per site and direction.
    pub directions: Vec<DirectionFit>,
    /// Jitter.
    pub jitter: JitterFit,
    /// Sites.
    pub sites: Vec<SiteFit>,
    /// The most VLAN tags on a frame of the calls.
    pub vlan_tags: usize,
    /// The VLAN id the scenario tags frames with.
    pub vlan: Option<u16>,
    /// What could not be fitted, and defaults taken.
    pub notes: Vec<String>,
    /// The scenario, TOML.
    #[serde(skip)]
    pub scenario: String,
}

/// Fits the capture at `path`.
pub fn fit(path: &Path, opts: &FitOptions) -> Result<Fit, FitError> {
    if !(opts.growth_pct.is_finite() && (-99.0..=MAX_GROWTH_PCT).contains(&opts.growth_pct)) {
        return Err(FitError::Options(format!(
            "--growth {}: expected a percentage from -99 to {MAX_GROWTH_PCT}, e.g. 30 for 30 % more calls",
            opts.growth_pct
        )));
    }
    let location = opts.location.unwrap_or(Location::Ashburn);
    if let Some(t) = opts.tier.filter(|t| !location.offers(*t)) {
        return Err(FitError::Options(format!(
            "--tier {t}: {location}{} does not sell it (500 Mbps is sold only in London and Singapore): give \
             --location",
            if opts.location.is_none() { " (the default location)" } else { "" }
        )));
    }
    // Read twice: a pipe or a device would give its frames to the first reading only.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) && path.exists() {
        return Err(FitError::Options(format!(
            "{}: not a regular file: fit reads the capture twice (its calls, then their load); save it to a file \
             first",
            path.display()
        )));
    }
    let ropts = ReplayOptions { threads: opts.threads, ..ReplayOptions::default() };
    let (report, _) = replay_file(path, ropts, None, Outputs::default()).map_err(FitError::Replay)?;
    fit_report(path, &report, opts)
}

/// Fits a capture already replayed into `report`; `path` is read again for the load.
fn fit_report(path: &Path, report: &ReplayReport, opts: &FitOptions) -> Result<Fit, FitError> {
    let file = path.display().to_string();
    let mut notes = Vec::new();
    if let Some(e) = &report.error {
        notes.push(format!("the capture stops at byte {} ({}): what came before it is fitted", e.offset, e.message));
    }
    if report.rtp_untracked_packets > 0 {
        notes.push(format!(
            "{} RTP packets belong to streams beyond the analysis's bound on streams: their calls are not in \
             this fit",
            report.rtp_untracked_packets
        ));
    }
    let (Some(first), Some(last)) = (report.first_ts_ns, report.last_ts_ns) else {
        return Err(FitError::Nothing(match &report.error {
            Some(e) => format!("{file}: stops at byte {} before any frame: {}", e.offset, e.message),
            None => format!("{file}: no frame: nothing to fit"),
        }));
    };
    if report.rtp_streams.is_empty() {
        return Err(FitError::Nothing(format!(
            "{file}: no RTP stream in {} frames: fit learns calls from their media (SIP alone gives no codec, \
             load or jitter)",
            report.frames
        )));
    }
    let span_s = last.saturating_sub(first) as f64 / 1e9;
    if span_s < MIN_SECONDS {
        return Err(FitError::Nothing(format!(
            "{file}: spans {span_s:.3} s: too short to fit (at least {MIN_SECONDS} s for codecs and load; arrivals \
             need {} calls that start inside it, holding times {} that start and end inside it)",
            stats::MIN_GAPS + 1,
            stats::MIN_HOLDS
        )));
    }
    let sides = &opts.sides;
    let mut found = calls::calls(report, sides);

    // The window: the whole capture, or its busiest hour.
    let spans: Vec<(u64, u64)> = found.calls.iter().filter(|c| c.known).map(|c| (c.start_ns, end_of(c))).collect();
    let (from, to, busy) = if opts.busy_hour && last - first > HOUR_NS {
        let (a, b) = busiest(&spans, first, last, HOUR_NS);
        (a, b, true)
    } else {
        if opts.busy_hour {
            notes.push(format!("--busy-hour: the capture spans {span_s:.0} s, less than an hour: all of it is fitted"));
        }
        (first, last, false)
    };
    let mut to = to;
    if to - from > MAX_SCENARIO_NS {
        notes.push(
            "the capture spans more than a day: its first day is fitted (--busy-hour takes its busiest hour)".into(),
        );
        to = from + MAX_SCENARIO_NS;
    }
    let window_ns = (to - from).max(1);
    let window = Window { from_ns: from, to_ns: to, seconds: window_ns as f64 / 1e9, busy_hour: busy };
    let overlap = |c: &Call| end_of(c).min(to).saturating_sub(c.start_ns.max(from));
    let rows = &report.rtp_streams;

    // The second pass: the load of the calls of a known codec per site and direction, and
    // what their packets say of packet times and talkspurts.
    let flows: HashSet<load::Flow> = found
        .calls
        .iter()
        // Before the packet times are known a call of one packet spans nothing: every call with
        // a packet in the window counts.
        .filter(|c| c.known && c.start_ns <= to && c.end_ns >= from)
        .flat_map(|c| c.streams.iter().map(|&i| calls::flow(&rows[i])))
        .collect();
    let load = load::load(path, &flows, from, to, sides, &opts.site_prefixes)
        .map_err(|e| FitError::Nothing(format!("{file}: reading it again for the load: {e}")))?;
    found.classify(rows, &load.facts);
    let inside: Vec<&Call> = found.calls.iter().filter(|c| overlap(c) > 0).collect();
    let with_codec: Vec<&Call> = inside.iter().copied().filter(|c| c.class.is_some()).collect();

    // Streams of the window.
    let stream_ids: Vec<usize> = inside.iter().flat_map(|c| c.streams.iter().copied()).collect();
    let mut unknown: BTreeMap<u8, UnknownFit> = BTreeMap::new();
    let mut event_streams = 0;
    for &i in &stream_ids {
        match &found.kinds[i] {
            Kind::Unknown { payload_type, name } => {
                let u = unknown.entry(*payload_type).or_insert(UnknownFit {
                    payload_type: *payload_type,
                    name: name.clone(),
                    streams: 0,
                    packets: 0,
                });
                u.streams += 1;
                u.packets += rows[i].packets;
            }
            Kind::Events => event_streams += 1,
            Kind::Audio { .. } => {}
        }
    }
    let unknown: Vec<UnknownFit> = unknown.into_values().collect();
    if with_codec.is_empty() {
        let pts: Vec<String> = unknown
            .iter()
            .map(|u| format!("{}{}", u.payload_type, u.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()))
            .collect();
        return Err(FitError::Nothing(format!(
            "{file}: {} RTP streams, none of a codec the simulator sends (g711u, g711a, g729, g722, opus){}",
            stream_ids.len(),
            if pts.is_empty() { String::new() } else { format!(": payload types {}", pts.join(", ")) }
        )));
    }
    for u in &unknown {
        notes.push(format!(
            "{} streams ({} packets) of payload type {}{}: no codec in the catalog, not in the scenario",
            u.streams,
            u.packets,
            u.payload_type,
            u.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
        ));
    }
    if let Some((from_ms, to_ms)) = with_codec.iter().find_map(|c| c.ptime_moved) {
        notes.push(format!(
            "a packet time of {from_ms} ms is not one the codec allows here: such calls are simulated at {to_ms} ms"
        ));
    }

    // Calls up at the edges, arrivals, completions.
    let guard = |c: &Call| if c.sip { 0 } else { EDGE_GUARD_NS };
    let up_at_start = |c: &Call| c.start_ns < from + guard(c);
    let up_at_end = |c: &Call| c.open || end_of(c) + guard(c) > to;
    let mut starts: Vec<u64> = with_codec.iter().filter(|c| !up_at_start(c)).map(|c| c.start_ns).collect();
    starts.sort_unstable();
    let holds: Vec<f64> = with_codec
        .iter()
        .filter(|c| !up_at_start(c) && !up_at_end(c))
        .map(|c| (end_of(c) - c.start_ns) as f64 / 1e9)
        .collect();
    let counts = CallCounts {
        total: inside.len(),
        sip: inside.iter().filter(|c| c.sip).count(),
        with_codec: with_codec.len(),
        up_at_start: with_codec.iter().filter(|c| up_at_start(c)).count(),
        up_at_end: with_codec.iter().filter(|c| up_at_end(c)).count(),
        completed: holds.len(),
    };
    let erlangs = with_codec.iter().map(|c| overlap(c) as f64).sum::<f64>() / window_ns as f64;
    // A SIP call's start is seen anywhere in the window; another call's only after the guard.
    let seconds = |ns: u64| ns.max(1) as f64 / 1e9;
    let sip_starts = with_codec.iter().filter(|c| c.sip && !up_at_start(c)).count();
    let rate_per_s = sip_starts as f64 / seconds(window_ns)
        + (starts.len() - sip_starts) as f64 / seconds(window_ns.saturating_sub(EDGE_GUARD_NS));
    let gaps: Vec<f64> = starts.windows(2).map(|w| (w[1] - w[0]) as f64 / 1e9).collect();
    let test = stats::exponential_ks(&gaps);
    // The scenario's mean holding time by Little's law, when a scenario can take it.
    let little = (starts.len() >= 2).then(|| erlangs / rate_per_s);
    let mean_hold_s = little.filter(|h| (0.001..=86_400.0).contains(h));
    if let Some(h) = little.filter(|_| mean_hold_s.is_none()) {
        notes.push(format!(
            "the mean holding time by Little's law, {h:.4} s, is outside what a scenario takes (0.001 s to a day): \
             the scenario's calls are fixed"
        ));
    }
    let poisson = mean_hold_s.is_some();
    let arrivals =
        ArrivalsFit { count: starts.len(), rate_per_s, test, process: if poisson { "poisson" } else { "fixed" } };
    if test.is_none() {
        notes.push(format!(
            "{} calls started inside the window: the Poisson test needs {} (its {} gaps)",
            starts.len(),
            stats::MIN_GAPS + 1,
            stats::MIN_GAPS
        ));
    }
    if starts.len() < 2 {
        notes.push("no two calls started inside the window: the scenario's calls are fixed (up for all of it)".into());
    }
    let holding = stats::fit_holding(&holds);
    if holding.is_none() {
        notes.push(format!(
            "{} calls started and ended inside the window: the holding-time distributions need {}",
            holds.len(),
            stats::MIN_HOLDS
        ));
    }

    // The mix, by each class's share of the Erlangs.
    let mut per_class: BTreeMap<ClassKey, (f64, usize, f64, usize)> = BTreeMap::new();
    for c in &with_codec {
        let e = per_class.entry(c.class.expect("with a codec")).or_default();
        e.0 += overlap(c) as f64;
        e.1 += 1;
        for &i in &c.streams {
            if let Some(a) = found.audio[i] {
                e.2 += a.activity;
                e.3 += 1;
            }
        }
    }
    let total: f64 = per_class.values().map(|v| v.0).sum::<f64>().max(1.0);
    let mut classes: Vec<ClassFit> = per_class
        .into_iter()
        .map(|(key, (t, calls, act, n))| ClassFit {
            key,
            share: t / total,
            calls,
            activity: if n == 0 { 1.0 } else { act / n as f64 },
        })
        .collect();
    classes.sort_by(|a, b| b.share.total_cmp(&a.share));
    scenario::round_shares(&mut classes, &mut notes);

    let share = |f: &dyn Fn(&Call) -> bool| with_codec.iter().filter(|c| f(c)).count() as f64 / with_codec.len() as f64;
    let comfort_noise_share = share(&|c| c.comfort_noise);
    let dtmf_share = share(&|c| c.dtmf);
    let placed: Vec<sides::Side> = with_codec.iter().filter_map(|c| c.caller).collect();
    let customer_placed_share = (!placed.is_empty())
        .then(|| placed.iter().filter(|s| **s == sides::Side::Customer).count() as f64 / placed.len() as f64);
    // The simulator sends both legs of every call: a capture of one leg offers half the load.
    let one_way = with_codec
        .iter()
        .filter(|c| {
            let first = &rows[c.streams[0]];
            c.streams.iter().all(|&i| (rows[i].src, rows[i].src_port) == (first.src, first.src_port))
        })
        .count();
    if one_way > 0 {
        notes.push(format!(
            "{one_way} of {} calls have media one way only in the capture: the scenario's calls send both ways, \
             so it offers more than the capture did in the other direction",
            with_codec.len()
        ));
    }

    if load.undirected_frames > 0 {
        notes.push(format!(
            "{} frames of the calls are between addresses that {} does not place on either side: their load is \
             given as \"undirected\" (give --customer-prefix or --provider-prefix)",
            load.undirected_frames, sides.described
        ));
    }
    if load.max_tags > 1 {
        notes.push(format!(
            "frames carry {} VLAN tags: the scenario carries one, so its frames are {} bytes shorter",
            load.max_tags,
            4 * (load.max_tags - 1)
        ));
    }

    // Sites: the --site-prefix sites; else one per VLAN id when the calls cross more than
    // one; else one.
    let prefixes = &opts.site_prefixes;
    let site_of = |c: &Call| c.streams.iter().find_map(|&i| load.flow_site.get(&calls::flow(&rows[i]))).copied();
    let keys: Vec<SiteKey> = if prefixes.is_empty() {
        let mut v: Vec<SiteKey> = load.tallies.keys().map(|k| k.0).collect();
        v.dedup();
        v
    } else {
        (0..prefixes.len()).map(SiteKey::Prefix).collect()
    };
    let split = !prefixes.is_empty() || keys.len() > 1;
    if !prefixes.is_empty() {
        let outside: Vec<&&Call> = with_codec.iter().filter(|c| site_of(c) == Some(SiteKey::Outside)).collect();
        if !outside.is_empty() {
            let e = outside.iter().map(|c| overlap(c) as f64).sum::<f64>() / window_ns as f64;
            notes.push(format!(
                "{} calls ({e:.2} Erlangs) are in none of the --site-prefix prefixes: not in any site",
                outside.len()
            ));
        }
    }
    let growth = 1.0 + opts.growth_pct / 100.0;
    let location = opts.location.unwrap_or(Location::Ashburn);
    if opts.location.is_none() {
        notes.push("location: not in a capture; ashburn is a default (--location sets it)".into());
    }
    let mut directions = Vec::new();
    let mut sites = Vec::new();
    for key in keys.iter().copied().filter(|k| !split || *k != SiteKey::Outside) {
        let (name, vlan) = match (split, key) {
            (true, SiteKey::Prefix(i)) => (prefixes[i].0.clone(), None),
            (true, SiteKey::Vlan(Some(id))) => (format!("vlan-{id}"), Some(id)),
            (true, _) => ("untagged".to_string(), None),
            (false, _) => (location.name().to_string(), None),
        };
        let site_erlangs = if split {
            with_codec.iter().filter(|c| site_of(c) == Some(key)).map(|c| overlap(c) as f64).sum::<f64>()
                / window_ns as f64
        } else {
            erlangs
        };
        let mut busiest_peak: f64 = 0.0;
        for d in 0..3 {
            // One tally per site and direction.
            let Some(t) = load.tallies.iter().find(|((k, td), _)| *td == d && (!split || *k == key)).map(|(_, t)| t)
            else {
                continue;
            };
            busiest_peak = busiest_peak.max(t.peak_1s_mbps());
            directions.push(DirectionFit {
                site: name.clone(),
                direction: ["to_provider", "to_customer", "undirected"][d],
                frames: t.frames,
                mbps: t.bytes as f64 * 8.0 / window.seconds / 1e6,
                peak_1ms_mbps: t.peak_1ms_mbps(),
                peak_1s_mbps: t.peak_1s_mbps(),
                sizes: load::top_sizes(t, 4),
            });
        }
        let (tier, tier_reason) = match opts.tier {
            Some(t) => (t, "--tier".to_string()),
            None => {
                let need = busiest_peak * growth;
                match Tier::ALL.into_iter().filter(|t| location.offers(*t)).find(|t| t.rate_bps() as f64 >= need * 1e6)
                {
                    Some(t) => (
                        t,
                        format!(
                            "the smallest tier {location} sells that carries the busier direction's 1 s peak \
                             ({need:.2} Mbit/s{}); --tier sets it",
                            if opts.growth_pct != 0.0 { " with the growth" } else { "" }
                        ),
                    ),
                    None => (
                        Tier::G1,
                        format!("no tier carries the busier direction's 1 s peak ({need:.2} Mbit/s): the largest, 1G"),
                    ),
                }
            }
        };
        let calls = (site_erlangs * growth).round().max(1.0) as u64;
        sites.push(SiteFit { name, vlan, erlangs: site_erlangs, calls, tier, tier_reason, location });
    }
    if sites.iter().any(|s| (s.erlangs * growth).round() < 1.0) {
        notes.push("a site carries less than half a call on average: its scenario has 1 call".into());
    }

    // Jitter: the network's delay variation as the streams saw it.
    let mut jit: Vec<f64> = stream_ids
        .iter()
        .filter(|&&i| found.audio[i].is_some() && rows[i].packets >= MIN_JITTER_PACKETS)
        .filter_map(|&i| rows[i].mean_jitter_ms)
        .collect();
    let jitter_streams = jit.len();
    let median = stats::median(&mut jit);
    let jitter = JitterFit {
        streams: jitter_streams,
        median_mean_jitter_ms: median,
        delay_variation_ms: median.map_or(0.0, |m| (3.0 * m).min(10_000.0)),
    };
    if median.is_none() {
        notes.push(format!(
            "no audio stream has {MIN_JITTER_PACKETS} packets: the delay variation is not fitted (0 ms)"
        ));
    }
    let vlan = load.first_vlan.filter(|_| load.untagged_frames == 0);

    let mut fit = Fit {
        file,
        sides: sides.described.clone(),
        window,
        streams: stream_ids.len(),
        calls: counts,
        classes,
        unknown,
        event_streams,
        comfort_noise_share,
        dtmf_share,
        customer_placed_share,
        erlangs,
        growth_pct: opts.growth_pct,
        arrivals,
        holding,
        mean_hold_s,
        directions,
        jitter,
        sites,
        vlan_tags: load.max_tags,
        vlan,
        notes,
        scenario: String::new(),
    };
    if fit.sites.is_empty() {
        return Err(FitError::Nothing(format!(
            "{}: none of the calls' frames could be read again for their load: nothing to fit",
            fit.file
        )));
    }
    fit.scenario = scenario::write(&fit);
    // What fit writes, `simulate` reads: a scenario it would refuse (grown past what a port
    // carries, say) is refused here, with simulate's reasons, instead of written.
    if let Err(e) = xconnect_sim::scenario::Scenario::parse(&fit.scenario, &fit.file) {
        return Err(FitError::Nothing(format!("the scenario fitted from it is one simulate refuses: {e}")));
    }
    Ok(fit)
}

/// A call's end as the span of its packets counts it: one packet time after its last packet
/// (a SIP call's BYE is its end).
fn end_of(c: &Call) -> u64 {
    if c.sip {
        c.end_ns
    } else {
        c.end_ns + c.class.map_or(0, |k| u64::from(k.ptime_ms) * 1_000_000)
    }
}

/// The `width` window within `[from, to]` whose calls (`spans`) add up to the most time.
fn busiest(spans: &[(u64, u64)], from: u64, to: u64, width: u64) -> (u64, u64) {
    // Concurrency changes only at starts and ends: a best window starts at a call's start or
    // ends at a call's end (or at the capture's edges).
    let mut candidates: Vec<u64> = spans
        .iter()
        .flat_map(|&(a, b)| [a, b.saturating_sub(width)])
        .chain([from, to - width])
        .filter(|&t| t >= from && t + width <= to)
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    // ∫ concurrency over [0, t] as a sum over calls, evaluated by sorting starts and ends.
    let mut starts: Vec<u64> = spans.iter().map(|s| s.0).collect();
    let mut ends: Vec<u64> = spans.iter().map(|s| s.1).collect();
    starts.sort_unstable();
    ends.sort_unstable();
    let prefix = |v: &[u64]| {
        let mut p = Vec::with_capacity(v.len() + 1);
        p.push(0u128);
        for &x in v {
            p.push(p.last().expect("seeded") + u128::from(x));
        }
        p
    };
    let (ps, pe) = (prefix(&starts), prefix(&ends));
    // Σ over calls of max(0, min(b, t) − a) = Σ_{a<t} (t − a) − Σ_{b<t} (t − b).
    let integral = |t: u64| -> i128 {
        let i = starts.partition_point(|&a| a < t);
        let j = ends.partition_point(|&b| b < t);
        (i as i128 * t as i128 - ps[i] as i128) - (j as i128 * t as i128 - pe[j] as i128)
    };
    let best = candidates
        .into_iter()
        .max_by_key(|&t| (integral(t + width) - integral(t), std::cmp::Reverse(t)))
        .unwrap_or(from);
    (best, best + width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_hour_holds_the_most_call_time() {
        let h = HOUR_NS;
        // Few calls in the first two hours, many in the third.
        let mut spans = vec![(0, h / 2), (h, h + h / 4)];
        for i in 0..50 {
            spans.push((2 * h + i * 1_000_000_000, 2 * h + i * 1_000_000_000 + h / 2));
        }
        let (a, b) = busiest(&spans, 0, 4 * h, h);
        assert_eq!(b - a, h);
        assert!(a <= 2 * h && a + h >= 2 * h + 49_000_000_000 + h / 2, "{a} {b}");
    }
}
