//! Scenario files: TOML read field by field (`xconnect-input`) into typed structs. Every
//! problem — syntax, type, unknown key, a value outside what it means — is listed at once with
//! its line and field before any simulation starts.

use std::path::Path;

use ipnet::Ipv4Net;
use xconnect_bgp::policy::{PROVIDER_MAX_LEN, PROVIDER_MAX_PREFIXES};
use xconnect_input::{Doc, Problem, Problems, Table};
use xconnect_interconnect::{Location, Tier};
use xconnect_time::{Nanos, Span};
use xconnect_trafgen::AddressPlan;

use crate::traffic::Traffic;

/// The built-in default scenario (also `fixtures/scenarios/default.toml`).
pub const DEFAULT_SCENARIO: &str = include_str!("../../../fixtures/scenarios/default.toml");

/// How a failed link is noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    /// The BGP hold timer.
    Hold,
    /// BFD (RFC 5880) with this transmit interval and detect multiplier.
    Bfd {
        /// Transmit interval.
        interval: Span,
        /// Multiplier.
        multiplier: u32,
    },
}

/// Fault kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The site's fiber fails: nothing crosses it.
    LinkDown,
    /// The fiber is restored.
    LinkUp,
    /// The provider resets the BGP session (Cease / Administrative Reset, then restart).
    BgpReset,
}

impl FaultKind {
    /// "link-down", "link-up", "bgp-reset".
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::LinkDown => "link-down",
            FaultKind::LinkUp => "link-up",
            FaultKind::BgpReset => "bgp-reset",
        }
    }
}

/// A checked fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// When (since the run's start).
    pub at: Nanos,
    /// Index into `sites`.
    pub site: usize,
    /// What.
    pub kind: FaultKind,
}

/// The most provider prefixes a scenario may list: each is a group of every site's calls.
pub const MAX_PROVIDER_PREFIXES: usize = 64;

/// The checked control plane.
#[derive(Debug, Clone)]
pub struct Control {
    /// The customer's aggregate.
    pub customer_prefix: ipnet::Ipv4Net,
    /// The customer's own ASN.
    pub customer_asn: Option<u32>,
    /// The provider's ASN.
    pub provider_asn: u32,
    /// The provider's prefixes.
    pub provider_prefixes: Vec<ipnet::Ipv4Net>,
    /// Point-to-point pool.
    pub p2p_pool: ipnet::Ipv4Net,
    /// /30 or /31.
    pub p2p_len: u8,
    /// Hold time, s.
    pub hold_s: u16,
    /// ConnectRetry, also the wait before a session restarts after an error.
    pub connect_retry: Span,
    /// The provider's max-prefix limit per session (Cease / Maximum Number of Prefixes Reached
    /// beyond it).
    pub max_prefixes: usize,
    /// After a max-prefix Cease, the wait before the provider accepts the session again
    /// (`None`: it stays down, as `xconnect bgp` without `--max-prefixes-restart`).
    pub max_prefixes_restart: Option<Span>,
    /// Detection.
    pub detection: Detection,
    /// Faults, by time.
    pub faults: Vec<Fault>,
    /// Unannounced calls at the first site.
    pub stray_calls: u64,
    /// TCP-MD5 on every BGP session (RFC 2385: each segment carries a 20-byte option more).
    pub tcp_md5: bool,
    /// GTSM on every BGP session (RFC 5082: sent with TTL 255; nothing else changes here).
    pub gtsm: bool,
}

impl Control {
    /// Each site's slice of the customer's aggregate (site i's calls come from slice i): the
    /// aggregate split into the next power of two of `sites` parts.
    pub fn slices(&self, sites: usize) -> Vec<Ipv4Net> {
        slices_of(self.customer_prefix, sites).expect("checked: every slice is within the provider's longest prefix")
    }

    /// A site's `calls` spread over the provider's prefixes (call i to prefix i mod n), as
    /// (prefix, calls) with calls > 0.
    pub fn split_calls(&self, calls: u64) -> Vec<(Ipv4Net, u64)> {
        let n = self.provider_prefixes.len() as u64;
        self.provider_prefixes
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, calls / n + u64::from((i as u64) < calls % n)))
            .filter(|&(_, k)| k > 0)
            .collect()
    }

    /// The /24 after the aggregate: never announced, the source of `stray_calls`.
    pub fn stray_prefix(&self) -> Ipv4Net {
        stray_prefix_of(self.customer_prefix)
    }
}

fn stray_prefix_of(customer_prefix: Ipv4Net) -> Ipv4Net {
    let next = u32::from(customer_prefix.broadcast()).wrapping_add(1);
    Ipv4Net::new(next.into(), PROVIDER_MAX_LEN).expect("24 <= 32").trunc()
}

/// `prefix` split for `sites` sites, if every slice is still one the provider accepts (at
/// most /24: each site announces its own slice).
fn slices_of(prefix: Ipv4Net, sites: usize) -> Option<Vec<Ipv4Net>> {
    let len = prefix.prefix_len() + sites.next_power_of_two().trailing_zeros() as u8;
    (len <= PROVIDER_MAX_LEN).then(|| prefix.subnets(len).expect("len is at most 24").take(sites).collect())
}

/// A checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// Simulated time.
    pub duration: Span,
    /// Failover check.
    pub check_failover: bool,
    /// Loss target, percent.
    pub loss_target_pct: f64,
    /// MOS target.
    pub mos_target: f64,
    /// The calls: one class (codec, packet time, silence suppression) or a mix.
    pub traffic: Traffic,
    /// Synchronized phases.
    pub sync: bool,
    /// VLAN id.
    pub vlan: Option<xconnect_frame::VlanId>,
    /// Poisson arrivals with this mean holding time; `None`: fixed calls.
    pub mean_hold: Option<Span>,
    /// Port rate.
    pub port_bps: u64,
    /// Port buffer, bytes.
    pub port_buffer_bytes: u64,
    /// One-way propagation delay.
    pub propagation: Span,
    /// Delay variation: each frame adds a uniform draw from zero to this.
    pub variation: Span,
    /// Sites.
    pub sites: Vec<Site>,
    /// The control plane, when the scenario has `[control]`.
    pub control: Option<Control>,
    /// The report's series interval (`--interval`; not a scenario key). `None`: 1 s, or
    /// 100 ms for runs under a minute; widened to keep the series bounded (see
    /// [`Scenario::series_interval`]).
    pub interval: Option<Span>,
}

/// A checked site.
#[derive(Debug, Clone)]
pub struct Site {
    /// Name.
    pub name: String,
    /// Location.
    pub location: Location,
    /// Tier.
    pub tier: Tier,
    /// Calls.
    pub calls: u64,
    /// Burst, bytes.
    pub burst_bytes: u64,
    /// Policer byte accounting.
    pub accounting: xconnect_policer::Accounting,
    /// How the provider holds provider → customer traffic to the tier.
    pub egress: Egress,
    /// This site's BFD timers with `[control] detection = "bfd"`: its own (`bfd_interval_ms`,
    /// `bfd_multiplier` in its table), else `[control]`'s; `None` without BFD.
    pub bfd: Option<xconnect_bfd::Timers>,
}

/// How the provider's edge holds the traffic it sends the customer to the tier (customer →
/// provider traffic is always policed at its ingress).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Egress {
    /// Police: what exceeds the bucket is dropped (the default, as at the ingress).
    Police,
    /// Shape: what exceeds the bucket waits in a FIFO of `buffer_bytes` (adding delay and
    /// jitter) and is dropped only when that is full.
    Shape {
        /// The shaper's queue, bytes.
        buffer_bytes: u64,
    },
}

impl Egress {
    /// "police" or "shape".
    pub fn name(self) -> &'static str {
        match self {
            Egress::Police => "police",
            Egress::Shape { .. } => "shape",
        }
    }
}

/// Everything wrong with a scenario file: each problem with its line, field and what was
/// expected.
pub type ScenarioError = Problems;

/// The E-model's scale (ITU-T G.107): MOS runs from 1.0 to 4.5.
pub const MOS_RANGE: std::ops::RangeInclusive<f64> = 1.0..=4.5;

impl Scenario {
    /// The calls a site's source sends, as every engine (and `generate --scenario`) makes
    /// them: one plan per class of the traffic (its share of `calls`, its codec, packet time
    /// and silence suppression; its own seed and its own lane of `addresses`), with the
    /// scenario's phases, tag and arrivals, from `start_ns` to the end of the run. The first
    /// class keeps `seed` itself, so one class makes the same calls as before mixes existed.
    pub fn call_plans(
        &self,
        calls: u64,
        directions: xconnect_trafgen::Directions,
        seed: u64,
        start_ns: u64,
        addresses: AddressPlan,
    ) -> Vec<xconnect_trafgen::CallPlan> {
        let lanes = self.traffic.classes().len() as u64;
        self.traffic
            .split(calls)
            .into_iter()
            .map(|(i, calls)| {
                let class = self.traffic.classes()[i];
                xconnect_trafgen::CallPlan {
                    calls,
                    codec: class.codec,
                    ptime_ms: class.ptime_ms,
                    vlan: self.vlan,
                    phase: if self.sync { xconnect_trafgen::Phase::Sync } else { xconnect_trafgen::Phase::Random },
                    directions,
                    seed: seed.wrapping_add(i as u64 * 0x2545_f491_4f6c_dd1d),
                    start_ns,
                    duration_ns: self.duration.0.saturating_sub(start_ns),
                    addresses: AddressPlan { lane: (i as u64, lanes), ..addresses },
                    silence_suppression: class.silence_suppression,
                    arrivals: match self.mean_hold {
                        Some(hold) => xconnect_trafgen::Arrivals::Poisson { mean_hold_ns: hold.0 },
                        None => xconnect_trafgen::Arrivals::Fixed,
                    },
                }
            })
            .collect()
    }

    /// The seed of run `i`: site i's calls (and, after the sites, each failover case's).
    pub fn run_seed(&self, i: usize) -> u64 {
        self.seed.wrapping_add(i as u64 * 0x9e37_79b9)
    }

    /// A site's source: its [`Scenario::call_plans`] built and merged in time order.
    pub fn source(plans: &[xconnect_trafgen::CallPlan]) -> xconnect_trafgen::Mix<xconnect_trafgen::Source> {
        let sources = plans
            .iter()
            .map(|p| xconnect_trafgen::Source::new(p).expect("scenario checked: calls, codec and ptime are valid"))
            .collect();
        xconnect_trafgen::Mix::new(sources)
    }

    /// The series' interval and whether it was widened from the one asked (to keep at most
    /// [`xconnect_dataplane::series::MAX_POINTS`] points).
    pub fn series_interval(&self) -> (u64, bool) {
        xconnect_dataplane::series::interval_for(self.duration.0, self.interval.map(|s| s.0))
    }

    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Problems {
            file: file.clone(),
            problems: vec![Problem { field: "(file)".into(), line: 0, message: format!("cannot read: {e}") }],
        })?;
        Self::parse(&text, &file)
    }

    /// The built-in default.
    pub fn default_scenario() -> Scenario {
        Self::parse(DEFAULT_SCENARIO, "built-in default scenario").expect("the default scenario is valid")
    }

    /// Parses and checks scenario text; `file` names it in errors. Every problem is listed at
    /// once — syntax, type and value — each with its line and field.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let doc = Doc::parse(text);
        let sc = read(&doc);
        doc.finish(file, sc)
    }
}

fn read(doc: &Doc<'_>) -> Option<Scenario> {
    let root = doc.root();
    let name = root.get::<String>("name", "a name for the reports, e.g. \"guide example\"");
    let seed = root.or("seed", "a whole number (the seed of every random choice)", 1u64);
    let duration_s = root.get::<f64>("duration_s", "seconds of simulated time, more than 0 and at most 86400");
    let duration_s = duration_s.filter(|d| {
        let ok = *d > 0.0 && *d <= 86_400.0;
        if !ok {
            root.bad("duration_s", "seconds of simulated time, more than 0 and at most 86400 (one day)", d);
        }
        ok
    });
    let check_failover = root.or("check_failover", "true or false", false);
    let loss_target_pct =
        root.in_range("loss_target_pct", 0.0..=100.0, "a percentage of frames from 0 to 100, e.g. 0.1").unwrap_or(0.1);
    let mos_target = root
        .in_range("mos_target", MOS_RANGE, "a MOS on the E-model's scale, from 1.0 to 4.5, e.g. 4.0")
        .unwrap_or(4.0);

    let traffic_table = root.section("traffic");
    let traffic = crate::traffic::read(&traffic_table, &root, mos_target);
    let traffic_t = &traffic_table;
    let sync = traffic_t.one_of("phase", &[("random", false), ("sync", true)], Some(false)).unwrap_or(false);
    let vlan = traffic_t.opt::<u16>("vlan", "an 802.1Q VLAN id, 0 to 4095").and_then(|v| {
        let id = xconnect_frame::VlanId::try_new(v);
        if id.is_none() {
            traffic_t.bad("vlan", "an 802.1Q VLAN id, 0 to 4095", v);
        }
        id
    });
    const HOLDING: &str = "a mean holding time in seconds, at least 0.001 and at most 86400, e.g. 180";
    let poisson = traffic_t.one_of("arrivals", &[("fixed", false), ("poisson", true)], Some(false));
    let hold = traffic_t.in_range("mean_hold_s", 0.001..=86_400.0, HOLDING);
    let mean_hold = match (poisson, hold) {
        (Some(false), Some(_)) => {
            traffic_t.problem("mean_hold_s", "only with arrivals = \"poisson\"");
            None
        }
        (Some(true), None) if traffic_t.raw("mean_hold_s").is_none() => {
            traffic_t.problem("mean_hold_s", format!("missing: needed with arrivals = \"poisson\": {HOLDING}"));
            None
        }
        (Some(true), Some(h)) => Some(Span((h * 1e9) as u64)),
        _ => None,
    };

    let link = root.section("link");
    let port_bps = link
        .in_range("port_bps", 1_000_000..=100_000_000_000, "the port's rate in bit/s, 1e6 to 1e11, e.g. 1000000000")
        .unwrap_or(1_000_000_000);
    let port_buffer_bytes =
        link.in_range("port_buffer_bytes", 0..=1_000_000_000, "the port's buffer in bytes, 0 to 1e9");
    let propagation_ms =
        link.in_range("propagation_ms", 0.0..=10_000.0, "a one-way delay in ms, 0 to 10000").unwrap_or(0.0);
    let variation_ms =
        link.in_range("delay_variation_ms", 0.0..=10_000.0, "a delay variation in ms, 0 to 10000").unwrap_or(0.0);

    let site_tables = root.tables("sites");
    if site_tables.is_empty() {
        root.problem("sites", "missing: at least one [[sites]] table (name, location, tier, calls)");
    }
    let mut sites = Vec::new();
    let mut bfd_overrides = Vec::new();
    let mut names = Vec::new();
    for (i, t) in site_tables.iter().enumerate() {
        let name = t.get::<String>("name", "a site name, e.g. \"ashburn\"").unwrap_or_default();
        t.rename(format!("sites[{i}] ({name})"));
        if names.contains(&name) {
            t.problem("name", "another site has the same name");
        }
        names.push(name.clone());
        let location = t
            .get::<String>("location", "a location: ashburn, san-jose, london or singapore")
            .and_then(|l| l.parse::<Location>().map_err(|e| t.problem("location", e)).ok());
        let tier = t
            .get::<String>("tier", "a tier: 10M, 100M, 500M or 1G")
            .and_then(|s| s.parse::<Tier>().map_err(|e| t.problem("tier", e)).ok());
        if let (Some(l), Some(tr)) = (location, tier) {
            if !l.offers(tr) {
                t.problem("tier", format!("{l} does not offer {tr} (500 Mbps is sold only in London and Singapore)"));
            }
        }
        let calls = t.get::<u64>("calls", "a whole number of concurrent calls, e.g. 1000").filter(|&c| {
            if c == 0 {
                t.bad("calls", "a whole number of concurrent calls, at least 1", 0);
            }
            c > 0
        });
        let accounting = match t.or("accounting", "frame, l2, ip or wire", "frame".to_string()).parse() {
            Ok(a) => a,
            Err(e) => {
                t.problem("accounting", e);
                xconnect_policer::Accounting::Frame
            }
        };
        let burst = t.in_range(
            "burst_bytes",
            1..=xconnect_policer::MAX_BURST_BYTES,
            "a policer burst in bytes, from the largest frame to 2000000000",
        );
        // A burst below the largest frame the calls send: those frames can never conform.
        if let (Some(b), Some(tr)) = (burst, &traffic) {
            let frame = tr.min_burst_bytes(vlan.is_some(), accounting);
            if b < frame {
                t.problem(
                    "burst_bytes",
                    format!(
                        "{b} is below the {frame} bytes of one {} frame as the policer counts it ({}): every such \
                         frame would be dropped; use at least {frame} (the tier's default is 10 ms at its rate)",
                        tr.describe(),
                        accounting.as_str()
                    ),
                );
            }
        }
        // This site's own BFD timers, completed with [control]'s below.
        bfd_overrides.push((
            t.in_range("bfd_interval_ms", 1..=60_000u64, BFD_INTERVAL),
            t.in_range("bfd_multiplier", 1..=255u8, BFD_MULTIPLIER),
        ));
        let shape = t.one_of("egress", &[("police", false), ("shape", true)], Some(false)).unwrap_or(false);
        const QUEUE: &str = "the egress shaper's queue in ms at the tier's rate, 1 to 10000 (default 50)";
        let queue_ms = t.in_range("shaper_queue_ms", 1..=10_000u64, QUEUE);
        if queue_ms.is_some() && !shape {
            t.problem("shaper_queue_ms", "only with egress = \"shape\"");
        }
        if let (Some(location), Some(tier), Some(calls)) = (location, tier, calls) {
            let burst_bytes = burst.unwrap_or(tier.default_burst_bytes());
            let egress = if shape {
                let buffer_bytes =
                    u64::try_from(u128::from(tier.rate_bps()) * u128::from(queue_ms.unwrap_or(50)) / 8000)
                        .unwrap_or(u64::MAX);
                Egress::Shape { buffer_bytes }
            } else {
                Egress::Police
            };
            sites.push(Site { name, location, tier, calls, burst_bytes, accounting, egress, bfd: None });
        }
    }
    if sites.len() == site_tables.len() {
        if let Some(tr) = &traffic {
            check_load(&site_tables, &sites, tr, vlan.is_some(), port_bps);
        }
    }
    let faults = read_events(&root, &names, duration_s);
    let control = read_control(&root, site_tables.len(), faults);
    // Each site's BFD timers: its own, else [control]'s; its own need BFD on.
    let all_sites = sites.len() == site_tables.len();
    for (i, (t, (interval, multiplier))) in site_tables.iter().zip(bfd_overrides).enumerate() {
        match control.as_ref().map(|c| c.detection) {
            Some(Detection::Bfd { interval: ci, multiplier: cm }) if all_sites => {
                let tx = interval.map_or(ci, Span::from_millis);
                let mult = multiplier.unwrap_or(u8::try_from(cm).expect("checked: 1 to 255"));
                sites[i].bfd = Some(xconnect_bfd::Timers { tx, rx: tx, mult });
            }
            Some(Detection::Hold) | None if root.raw("control").is_none() || control.is_some() => {
                if interval.is_some() {
                    t.problem("bfd_interval_ms", "only with [control] detection = \"bfd\"");
                } else if multiplier.is_some() {
                    t.problem("bfd_multiplier", "only with [control] detection = \"bfd\"");
                }
            }
            _ => {}
        }
    }
    if sites.len() == site_tables.len() {
        if let (Some(tr), Some(d)) = (&traffic, duration_s) {
            // Every call a source makes: with Poisson arrivals those up at the start and those
            // that arrive, bounded at six standard deviations above their mean.
            let made = |calls: u64| match mean_hold {
                None => calls,
                Some(hold) => {
                    let mean = calls as f64 * (1.0 + d * 1e9 / hold.0 as f64);
                    let most = mean + 6.0 * mean.sqrt() + 1.0;
                    if most >= u64::MAX as f64 {
                        u64::MAX
                    } else {
                        most as u64
                    }
                }
            };
            check_address_room(&root, &site_tables, check_failover, &sites, control.as_ref(), tr, &made);
        }
    }
    Some(Scenario {
        name: name?,
        seed,
        duration: Span((duration_s? * 1e9) as u64),
        check_failover,
        loss_target_pct,
        mos_target,
        traffic: traffic?,
        sync,
        vlan,
        mean_hold,
        port_bps,
        port_buffer_bytes: port_buffer_bytes.unwrap_or(port_bps / 800),
        propagation: Span((propagation_ms * 1e6) as u64),
        variation: Span((variation_ms * 1e6) as u64),
        sites,
        control: match root.raw("control") {
            Some(_) => Some(control?),
            None => None,
        },
        interval: None,
    })
}

/// How many times what the customer's port carries a site may offer: beyond it a run measures
/// nothing but drops, and costs memory and time for calls that cannot exist.
pub const MAX_PORT_OVERLOAD: u64 = 10;

/// Each site's calls must fit, ten times over, into what the port carries.
fn check_load(tables: &[Table<'_, '_>], sites: &[Site], traffic: &Traffic, vlan: bool, port_bps: u64) {
    let codec = traffic.describe();
    for (t, s) in tables.iter().zip(sites) {
        let port_calls = traffic.carried(s.tier.rate_bps(), port_bps, vlan).port.max(1);
        if s.calls > MAX_PORT_OVERLOAD * port_calls {
            t.problem(
                "calls",
                format!(
                    "{} calls are more than {MAX_PORT_OVERLOAD} times the {port_calls} {codec} calls the customer's \
                     {} Mbit/s port carries: such a run measures nothing but drops; use at most {}",
                    s.calls,
                    port_bps / 1_000_000,
                    MAX_PORT_OVERLOAD * port_calls
                ),
            );
        }
    }
}

/// Every call needs its own address/port pair inside the prefix it is sent from (the default
/// customer prefix, or the site's slice with `[control]`); a failover run puts every site's
/// calls on one site's plan.
fn check_address_room(
    root: &Table<'_, '_>,
    tables: &[Table<'_, '_>],
    check_failover: bool,
    sites: &[Site],
    control: Option<&Control>,
    traffic: &Traffic,
    made: &dyn Fn(u64) -> u64,
) {
    let plan = AddressPlan::default();
    // A mix gives each class its own lane of the pairs: `calls` fit when every class's share
    // of them fits its lane, counting every call its source makes over the run (`made`).
    let lanes = traffic.classes().len() as u64;
    let fits = |c: Ipv4Net, p: Ipv4Net, calls: u64| {
        traffic.split(calls).into_iter().all(|(i, k)| {
            let k = made(k);
            let lane = AddressPlan {
                customer: (c.network(), c.prefix_len()),
                provider: (p.network(), p.prefix_len()),
                lane: (i as u64, lanes),
                ..plan
            };
            k <= lane.capacity()
        })
    };
    let room = |c: Ipv4Net, p: Ipv4Net| {
        AddressPlan { customer: (c.network(), c.prefix_len()), provider: (p.network(), p.prefix_len()), ..plan }
            .capacity()
    };
    let default = Ipv4Net::new(plan.customer.0, plan.customer.1).expect("valid default");
    let default_provider = Ipv4Net::new(plan.provider.0, plan.provider.1).expect("valid default");
    let slices = control.map(|c| c.slices(sites.len()));
    for (i, (t, s)) in tables.iter().zip(sites).enumerate() {
        // Without [control], calls go from the default customer prefix to the default provider
        // range; with it, from the site's slice, spread over the provider's prefixes.
        let flows = match (control, &slices) {
            (Some(c), Some(v)) => c.split_calls(s.calls).into_iter().map(|(p, k)| (v[i], p, k)).collect(),
            _ => vec![(default, default_provider, s.calls)],
        };
        for (from, to, calls) in flows {
            let room = room(from, to);
            if !fits(from, to, calls) {
                let made = made(calls);
                let arriving = if made > calls {
                    format!(" ({made} calls arrive over the run at the most)")
                } else {
                    String::new()
                };
                t.problem(
                    "calls",
                    format!(
                        "{calls} calls from {from} to {to}{arriving}: more than its {room} unique address/port pairs"
                    ),
                );
            }
        }
    }
    let total: u64 = sites.iter().map(|s| s.calls).sum();
    let room = |p: Ipv4Net| room(p, default_provider);
    if check_failover && control.is_none() && sites.len() > 1 && !fits(default, default_provider, total) {
        root.problem(
            "check_failover",
            format!(
                "{total} calls on one site need more than the {} unique address/port pairs of {default}",
                room(default)
            ),
        );
    }
}

/// An event's time: "30s", "1500ms", "2m" or a number of seconds, within a day; in ns.
struct At(u64);

impl xconnect_input::Kind for At {
    fn read(v: &toml::de::DeValue<'_>) -> Option<Self> {
        let secs = match v.as_str() {
            Some(s) => {
                let s = s.trim();
                let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
                    (n, 1e-3)
                } else if let Some(n) = s.strip_suffix('s') {
                    (n, 1.0)
                } else if let Some(n) = s.strip_suffix('m') {
                    (n, 60.0)
                } else {
                    (s, 1.0)
                };
                num.trim().parse::<f64>().ok()? * mult
            }
            None => f64::read(v)?,
        };
        (secs.is_finite() && (0.0..=86_400.0).contains(&secs)).then(|| At((secs * 1e9).round() as u64))
    }
}

const TIME: &str = "a time such as \"30s\", \"1500ms\" or a number of seconds";

/// `[[events]]`: faults at times, checked against the sites and the duration.
fn read_events(root: &Table<'_, '_>, names: &[String], duration_s: Option<f64>) -> Vec<Fault> {
    let events = root.tables("events");
    if let (Some(e), None) = (events.first(), root.raw("control")) {
        e.problem("", "fault injection needs a [control] section");
    }
    let duration_ns = duration_s.map(|d| (d * 1e9) as u64);
    let mut faults = Vec::new();
    for e in &events {
        let at_ns = e.get::<At>("at", TIME).map(|At(t)| t).filter(|&t| {
            let inside = duration_ns.is_none_or(|d| t < d);
            if !inside {
                let found = e.raw("at").map_or(String::new(), |(v, _)| xconnect_input::describe(v));
                e.problem(
                    "at",
                    format!("{found}: after the end of the simulation ({} s)", duration_s.unwrap_or_default()),
                );
            }
            inside
        });
        let site = e.get::<String>("site", "the name of a site").and_then(|s| {
            let i = names.iter().position(|n| *n == s);
            if i.is_none() {
                e.problem("site", format!("{s:?}: no such site (sites: {})", names.join(", ")));
            }
            i
        });
        let kinds = [FaultKind::LinkDown, FaultKind::LinkUp, FaultKind::BgpReset].map(|k| (k.name(), k));
        let kind = e.one_of("kind", &kinds, None);
        if let (Some(at_ns), Some(site), Some(kind)) = (at_ns, site, kind) {
            faults.push(Fault { at: Nanos(at_ns), site, kind });
        }
    }
    faults.sort_by_key(|f| f.at);
    faults
}

/// `[control]`: onboarding and eBGP per site, and how failures are detected.
fn read_control(root: &Table<'_, '_>, n_sites: usize, faults: Vec<Fault>) -> Option<Control> {
    let c = root.table("control")?;
    use xconnect_interconnect::request::{check_route, parse_cidr};
    // The customer's aggregate follows the onboarding rule for a customer route; a prefix that
    // fails it is not used further (its slices would not exist).
    let customer_prefix = c
        .get::<String>("customer_prefix", "the customer's aggregate, an IPv4 prefix such as \"45.64.0.0/22\"")
        .and_then(|s| check_route(&s).map_err(|e| c.problem("customer_prefix", e)).ok());
    let customer_prefix = customer_prefix.filter(|&p| {
        if slices_of(p, n_sites.max(1)).is_none() {
            c.problem(
                "customer_prefix",
                format!("{p} is too small to give each of {n_sites} sites its own slice of at most /24"),
            );
            return false;
        }
        true
    });
    let customer_asn = c.opt::<u32>("customer_asn", "the customer's public ASN, 1 to 4294967294");
    if let Some(a) = customer_asn {
        if let Err(e) = xconnect_interconnect::request::check_asn(i64::from(a)) {
            c.problem("customer_asn", e);
        }
    }
    let provider_asn = c.or("provider_asn", "the provider's ASN, 1 to 4294967294", 64600u32);
    if xconnect_bgp::special::AsnClass::of(provider_asn) == xconnect_bgp::special::AsnClass::Reserved {
        c.problem(
            "provider_asn",
            format!("AS{provider_asn} is reserved (0, 23456, 65535, 4294967295): never a peer's ASN"),
        );
    }
    if customer_asn == Some(provider_asn) {
        c.problem("customer_asn", "the same as provider_asn: the sessions are eBGP, the ASNs must differ");
    }
    let provider_prefixes: Vec<Ipv4Net> =
        match c.list::<String>("provider_prefixes", "IPv4 prefixes such as \"168.86.128.0/18\"") {
            None => xconnect_interconnect::PROVIDER_PREFIXES
                .iter()
                .map(|p| p.parse().expect("the catalog's prefixes are valid"))
                .collect(),
            Some(list) => {
                if list.is_empty() {
                    c.problem(
                        "provider_prefixes",
                        "empty: the provider announces at least one prefix, e.g. [\"168.86.128.0/18\"]",
                    );
                }
                if list.len() > MAX_PROVIDER_PREFIXES {
                    c.problem(
                        "provider_prefixes",
                        format!(
                            "{} prefixes: at most {MAX_PROVIDER_PREFIXES} (each site's calls are spread over them, a \
                             group of calls per prefix)",
                            list.len()
                        ),
                    );
                }
                list.iter()
                    .filter_map(|(i, s, _)| {
                        parse_cidr(s).map_err(|e| c.problem(&format!("provider_prefixes[{i}]"), e)).ok()
                    })
                    .collect()
            }
        };
    let p2p_len = c.or("p2p_len", "30 or 31", 30u8);
    let p2p_pool = c.or("p2p_pool", "an IPv4 prefix for the point-to-point subnets", "169.254.200.0/24".to_string());
    let p2p_pool = parse_cidr(&p2p_pool).map_err(|e| c.problem("p2p_pool", e)).ok();
    if let Some(pool) = p2p_pool {
        match xconnect_interconnect::onboarding::P2pPool::new(pool, p2p_len) {
            Err(e) => c.problem("p2p_len", e),
            Ok(mut p) => {
                if (0..n_sites).any(|_| p.allocate().is_none()) {
                    c.problem(
                        "p2p_pool",
                        format!("{pool} holds fewer /{p2p_len} subnets than the {n_sites} sites need"),
                    );
                }
            }
        }
    }
    const HOLD: &str = "a hold time in whole seconds, 0 or 3 to 65535 (RFC 4271), e.g. 90";
    let hold_s = c.or("hold_s", HOLD, 90u16);
    if hold_s != 0 && hold_s < 3 {
        c.bad("hold_s", HOLD, hold_s);
    }
    let connect_retry_s =
        c.in_range("connect_retry_s", 1..=3600u64, "seconds between connection attempts, 1 to 3600").unwrap_or(5);
    // Read whatever the detection, so that they are known keys with detection = "hold" too.
    let bfd_interval_ms = c.in_range("bfd_interval_ms", 1..=60_000u64, BFD_INTERVAL).unwrap_or(300);
    let bfd_multiplier = c.in_range("bfd_multiplier", 1..=255u32, BFD_MULTIPLIER).unwrap_or(3);
    let tcp_md5 = c.or("tcp_md5", "true or false (TCP-MD5 on every session)", false);
    let gtsm = c.or("gtsm", "true or false (GTSM on every session)", false);
    let bfd = Detection::Bfd { interval: Span::from_millis(bfd_interval_ms), multiplier: bfd_multiplier };
    let detection = c.one_of("detection", &[("hold", Detection::Hold), ("bfd", bfd)], Some(Detection::Hold));
    if detection == Some(Detection::Hold) && hold_s == 0 {
        c.problem(
            "detection",
            "\"hold\" with hold_s = 0: a zero hold time turns the hold timer off (RFC 4271 §4.2), so a failed \
             link would never be detected; set hold_s to 3 or more, or use detection = \"bfd\"",
        );
    }
    let max_prefixes = c
        .in_range(
            "max_prefixes",
            1..=1_000_000usize,
            "the provider's limit of prefixes accepted from the customer per session, 1 to 1000000",
        )
        .unwrap_or(PROVIDER_MAX_PREFIXES);
    let max_prefixes_restart = c
        .in_range(
            "max_prefixes_restart_s",
            1..=86_400u64,
            "seconds before a session closed for max-prefix may restart, 1 to 86400 (absent: it stays down)",
        )
        .map(Span::from_secs);
    let stray_calls = c.or("stray_calls", "a whole number of calls from an unannounced prefix", 0u64);
    if let Some(p) = customer_prefix {
        let stray = stray_prefix_of(p);
        let to = provider_prefixes.first().map_or(AddressPlan::default().provider, |p| (p.network(), p.prefix_len()));
        let room =
            AddressPlan { customer: (stray.network(), stray.prefix_len()), provider: to, ..AddressPlan::default() }
                .capacity();
        if stray_calls > room {
            c.problem("stray_calls", format!("{stray_calls}: more than the {room} address/port pairs of {stray}"));
        }
    }
    Some(Control {
        customer_prefix: customer_prefix?,
        customer_asn,
        provider_asn,
        provider_prefixes,
        p2p_pool: p2p_pool?,
        p2p_len,
        hold_s,
        connect_retry: Span::from_secs(connect_retry_s),
        max_prefixes,
        max_prefixes_restart,
        detection: detection?,
        faults,
        stray_calls,
        tcp_md5,
        gtsm,
    })
}

const BFD_INTERVAL: &str = "a BFD interval in ms, 1 to 60000";
const BFD_MULTIPLIER: &str = "a BFD detect multiplier, 1 to 255";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scenario_is_the_guide_example() {
        let s = Scenario::default_scenario();
        assert_eq!(s.sites.len(), 2);
        assert_eq!((s.sites[0].location, s.sites[0].tier), (Location::Ashburn, Tier::M100));
        assert_eq!((s.sites[1].location, s.sites[1].tier), (Location::SanJose, Tier::M100));
        assert!(s.check_failover);
    }

    #[test]
    fn calls_must_fit_the_provider_prefixes_they_are_spread_over() {
        let text = include_str!("../../../fixtures/scenarios/single-site.toml")
            .replace("hold_s = 9", "hold_s = 9\nprovider_prefixes = [\"168.86.128.0/18\", \"34.203.250.0/30\"]");
        // 250 calls to the /30: 2 hosts x 25,001 even ports is room enough.
        let sc = Scenario::parse(&text, "x.toml").unwrap();
        assert_eq!(sc.control.as_ref().unwrap().split_calls(501).iter().map(|x| x.1).collect::<Vec<_>>(), [251, 250]);
        // A list long enough to make a group of calls per prefix a burden is refused.
        let many: Vec<String> = (0..65).map(|i| format!("\"34.{i}.0.0/16\"")).collect();
        let long = text.replace("\"34.203.250.0/30\"]", &format!("{}]", many.join(", ")));
        let e = Scenario::parse(&long, "x.toml").unwrap_err().to_string();
        assert!(e.contains("control.provider_prefixes: 66 prefixes: at most 64"), "{e}");
        let text = text.replace("calls = 500", "calls = 120000");
        let e = Scenario::parse(&text, "x.toml").unwrap_err().to_string();
        assert!(
            e.contains(
                "60000 calls from 45.64.0.0/22 to 34.203.250.0/30: more than its 50002 unique address/port pairs"
            ),
            "{e}"
        );
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let text = DEFAULT_SCENARIO.replace("seed = 1", "seed = 1\nsede = 2");
        let e = Scenario::parse(&text, "x.toml").unwrap_err();
        let msg = e.to_string();
        let line = text.lines().position(|l| l.starts_with("sede")).unwrap() + 1;
        assert!(msg.contains("x.toml") && msg.contains("sede") && msg.contains(&format!("line {line}:")), "{msg}");
    }

    fn problems(text: &str) -> String {
        Scenario::parse(text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let text = DEFAULT_SCENARIO
            .replace("duration_s = 30", "duration_s = -5")
            .replace("codec = \"g711u\"", "codec = \"speex\"")
            .replace("tier = \"100M\"\ncalls = 1000\n\n", "tier = \"500M\"\ncalls = 0\n\n");
        let e = Scenario::parse(&text, "x.toml").unwrap_err();
        let all = e.to_string();
        assert!(all.contains("line 7: duration_s: expected seconds of simulated time, more than 0 and at most 86400 (one day); found -5"), "{all}");
        assert!(all.contains("line 15: traffic.codec: unknown codec"), "{all}");
        assert!(all.contains("line 29: sites[0] (ashburn).tier: ashburn does not offer 500M"), "{all}");
        assert!(
            all.contains(
                "line 30: sites[0] (ashburn).calls: expected a whole number of concurrent calls, at least 1; found 0"
            ),
            "{all}"
        );
        assert_eq!(e.problems.len(), 4, "{all}");
    }

    #[test]
    fn syntax_type_and_value_problems_all_at_once_in_words() {
        let text = DEFAULT_SCENARIO
            .replace("seed = 1", "seed = \"one\"")
            .replace("duration_s = 30", "duration_s = 30\nmos_target = 7")
            .replace("codec = \"g711u\"", "codec = \"g711u\"\nptime_ms = 2.5\nvlan = 5000")
            .replace(
                "tier = \"100M\"\ncalls = 1000\n\n",
                "tier = \"100M\"\ncalls = \"lots\"\nburst_bytes = 18446744073709551615\n\n",
            )
            + "\nbroken = = line\n";
        let all = problems(&text);
        for want in [
            "seed: expected a whole number (the seed of every random choice); found the text \"one\"",
            "mos_target: expected a MOS on the E-model's scale, from 1.0 to 4.5, e.g. 4.0; found 7",
            "traffic.ptime_ms: expected a packet time in whole milliseconds, e.g. 20; found 2.5",
            "traffic.vlan: expected an 802.1Q VLAN id, 0 to 4095; found 5000",
            "sites[0] (ashburn).calls: expected a whole number of concurrent calls, e.g. 1000; found the text \"lots\"",
            "sites[0] (ashburn).burst_bytes: expected a policer burst in bytes, from the largest frame to 2000000000; found 18446744073709551615",
            "(syntax): not valid TOML",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{all}");
        }
    }

    #[test]
    fn values_are_checked_against_what_they_mean() {
        // A MOS target above what the codec reaches turns every healthy run into a failure.
        let all = problems(&DEFAULT_SCENARIO.replace("duration_s = 30", "duration_s = 30\nmos_target = 4.45"));
        assert!(all.contains("mos_target: 4.45 is above the best MOS g711u reaches at 20 ms"), "{all}");
        // A burst below one frame: every frame would be dropped.
        let all = problems(&DEFAULT_SCENARIO.replace("calls = 1000\n", "calls = 1000\nburst_bytes = 100\n"));
        assert!(all.contains("burst_bytes: 100 is below the 218 bytes of one g711u / 20 ms frame"), "{all}");
        // Millions of calls on a 1 Gbps port.
        let all = problems(&DEFAULT_SCENARIO.replace("calls = 1000\n", "calls = 3000000\n"));
        assert!(all.contains("3000000 calls are more than 10 times the"), "{all}");
        // Poisson with a holding time of a nanosecond.
        let all = problems(
            &DEFAULT_SCENARIO
                .replace("codec = \"g711u\"", "codec = \"g711u\"\narrivals = \"poisson\"\nmean_hold_s = 1e-9"),
        );
        assert!(all.contains("mean_hold_s: expected a mean holding time in seconds, at least 0.001"), "{all}");
    }

    #[test]
    fn fuzz_crash_a_prefix_too_small_for_its_sites_and_a_duplicate_table() {
        // From fuzz/artifacts (scenario): a /26 aggregate for two sites, in a file that also
        // repeats [control]; the slicing reached an expect.
        let text = include_str!("../../../fixtures/scenarios/failover-bfd.toml")
            .replace("customer_prefix = \"45.64.0.0/22\"", "customer_prefix = \"45.64.0.0/24\"");
        let all = problems(&text);
        assert!(all.contains("45.64.0.0/24 is too small to give each of 2 sites"), "{all}");
        let all = problems(&format!("{text}\n[control]\ncustomer_prefix = \"45.64.0.0/26\"\n"));
        assert!(all.contains("(syntax)"), "{all}");
    }

    #[test]
    fn each_problem_once_whatever_the_detection() {
        // The BFD keys were read twice (once to use, once to know them), so a wrong type was
        // reported twice; and they are checked with detection = "hold" too.
        let hold = include_str!("../../../fixtures/scenarios/failover-hold.toml");
        for detection in ["hold", "bfd"] {
            let text = hold
                .replace("detection = \"hold\"", &format!("detection = \"{detection}\""))
                .replace("hold_s = 9", "hold_s = 9\nbfd_multiplier = \"x\"\nbfd_interval_ms = 0");
            let e = Scenario::parse(&text, "t.toml").unwrap_err();
            let all = e.to_string();
            assert_eq!(e.problems.len(), 2, "{all}");
            assert!(
                all.contains(
                    "control.bfd_multiplier: expected a BFD detect multiplier, 1 to 255; found the text \"x\""
                ),
                "{all}"
            );
            assert!(
                all.contains("control.bfd_interval_ms: expected a BFD interval in ms, 1 to 60000; found 0"),
                "{all}"
            );
        }
    }

    #[test]
    fn control_problems_that_reached_the_engine() {
        let hold = include_str!("../../../fixtures/scenarios/failover-hold.toml");
        // No provider prefix: an index out of bounds in the engine before.
        let all = problems(&hold.replace("hold_s = 9", "hold_s = 9\nprovider_prefixes = []"));
        assert!(all.contains("control.provider_prefixes: empty"), "{all}");
        // A zero hold time turns the hold timer off: a link failure would never be detected.
        let all = problems(&hold.replace("hold_s = 9", "hold_s = 0"));
        assert!(all.contains("control.detection: \"hold\" with hold_s = 0"), "{all}");
        // The same ASN on both sides.
        let all = problems(&hold.replace("hold_s = 9", "hold_s = 9\ncustomer_asn = 64600"));
        assert!(all.contains("control.customer_asn: the same as provider_asn"), "{all}");
    }

    #[test]
    fn control_and_event_problems_with_file_line_and_field() {
        let text = include_str!("../../../fixtures/scenarios/failover-hold.toml")
            .replace("hold_s = 9", "hold_s = 2")
            .replace("detection = \"hold\"", "detection = \"ping\"")
            .replace(
                "at = \"30s\"\nsite = \"ashburn\"\nkind = \"link-down\"",
                "at = \"90s\"\nsite = \"paris\"\nkind = \"meteor\"",
            );
        let e = Scenario::parse(&text, "bad.toml").unwrap_err();
        let all = e.to_string();
        assert!(all.starts_with("bad.toml: 5 problem(s):"), "{all}");
        for want in [
            "line 21: control.hold_s: expected a hold time in whole seconds, 0 or 3 to 65535 (RFC 4271), e.g. 90; found 2",
            "line 22: control.detection: expected \"hold\" or \"bfd\"; found \"ping\"",
            "line 37: events[0].at: the text \"90s\": after the end of the simulation (60 s)",
            "line 38: events[0].site: \"paris\": no such site (sites: ashburn, san-jose)",
            "line 39: events[0].kind: expected \"link-down\", \"link-up\" or \"bgp-reset\"; found \"meteor\"",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{all}");
        }
        // A wrong type: TOML's own error, with its line.
        let e = Scenario::parse(
            &include_str!("../../../fixtures/scenarios/failover-hold.toml").replace("hold_s = 9", "hold_s = \"nine\""),
            "t.toml",
        )
        .unwrap_err();
        assert_eq!(
            e.problems[0].to_string(),
            "line 21: control.hold_s: expected a hold time in whole seconds, 0 or 3 to 65535 (RFC 4271), e.g. 90; \
             found the text \"nine\"",
            "{e}"
        );
        // A point-to-point pool too small for the sites: refused, not a panic later.
        let e = Scenario::parse(
            &include_str!("../../../fixtures/scenarios/failover-hold.toml")
                .replace("hold_s = 9", "hold_s = 9\np2p_pool = \"169.254.200.0/30\""),
            "t.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("fewer /30 subnets than the 2 sites need"), "{e}");
        // More calls than a site's slice has address/port pairs: refused, not a panic later.
        let e = Scenario::parse(
            &include_str!("../../../fixtures/scenarios/single-site.toml")
                .replace("customer_prefix = \"45.64.0.0/22\"", "customer_prefix = \"45.64.0.0/24\"")
                .replace("calls = 500", "calls = 10000000"),
            "t.toml",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains(
                "line 18: sites[0] (ashburn).calls: 10000000 calls from 45.64.0.0/24 to 168.86.128.0/18: more than its"
            ),
            "{e}"
        );
        // Events without [control].
        let e = Scenario::parse(
            &format!("{DEFAULT_SCENARIO}\n[[events]]\nat = 1\nsite = \"ashburn\"\nkind = \"link-down\"\n"),
            "t.toml",
        )
        .unwrap_err();
        assert!(e.problems[0].to_string().contains("events[0]: fault injection needs a [control] section"), "{e}");
    }
}
