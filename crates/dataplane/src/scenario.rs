//! Scenario files: TOML deserialized into typed structs. Unknown keys are errors naming the key
//! and its line; every value is checked, with the field named, before any simulation starts.

use std::path::Path;

use ipnet::Ipv4Net;
use serde::Deserialize;
use xconnect_interconnect::{Location, Tier};
use xconnect_trafgen::{AddressPlan, Codec};

/// The built-in default scenario (also `fixtures/scenarios/default.toml`).
pub const DEFAULT_SCENARIO: &str = include_str!("../../../fixtures/scenarios/default.toml");

/// A scenario as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// What the scenario is.
    pub name: String,
    /// Seed of every random choice (same seed, same report).
    #[serde(default = "one")]
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// Also simulate each site alone carrying every site's calls.
    #[serde(default)]
    pub check_failover: bool,
    /// Most loss a site may show and pass, percent.
    #[serde(default = "default_loss_target")]
    pub loss_target_pct: f64,
    /// Lowest MOS any call may show for a site to pass.
    #[serde(default = "default_mos_target")]
    pub mos_target: f64,
    /// The calls.
    pub traffic: TrafficFile,
    /// The customer's port and the path to the provider.
    #[serde(default)]
    pub link: LinkFile,
    /// The cross-connects.
    pub sites: Vec<SiteFile>,
    /// The control plane: onboarding and BGP per site (optional).
    pub control: Option<ControlFile>,
    /// Faults to inject (need `[control]`).
    #[serde(default)]
    pub events: Vec<toml::Spanned<EventFile>>,
}

/// `[control]`: onboarding and eBGP per site, and how failures are detected.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlFile {
    /// The customer's aggregate; every site announces it, and each site also announces its own
    /// slice of it (site i's calls come from slice i).
    pub customer_prefix: String,
    /// The customer's public ASN; absent: a private one is assigned from 65000.
    pub customer_asn: Option<u32>,
    /// The provider's ASN.
    #[serde(default = "default_provider_asn")]
    pub provider_asn: u32,
    /// The provider's prefixes announced to the customer.
    #[serde(default = "default_provider_prefixes")]
    pub provider_prefixes: Vec<String>,
    /// Pool for point-to-point subnets.
    #[serde(default = "default_p2p_pool")]
    pub p2p_pool: String,
    /// 30 or 31.
    #[serde(default = "default_p2p_len")]
    pub p2p_len: u8,
    /// BGP hold time, seconds (keepalives every third).
    #[serde(default = "default_hold")]
    pub hold_s: u16,
    /// Seconds between connection attempts and before a restart.
    #[serde(default = "default_connect_retry")]
    pub connect_retry_s: u64,
    /// "hold" (the BGP hold timer) or "bfd".
    #[serde(default = "default_detection")]
    pub detection: String,
    /// BFD transmit interval, ms.
    #[serde(default = "default_bfd_interval")]
    pub bfd_interval_ms: u64,
    /// BFD detect multiplier.
    #[serde(default = "default_bfd_multiplier")]
    pub bfd_multiplier: u32,
    /// Calls at the first site sourced from a prefix the customer never announced: the
    /// provider's ACL must drop them.
    #[serde(default)]
    pub stray_calls: u64,
}

fn default_provider_asn() -> u32 {
    64600
}
fn default_provider_prefixes() -> Vec<String> {
    vec!["168.86.128.0/18".into()]
}
fn default_p2p_pool() -> String {
    "169.254.200.0/24".into()
}
fn default_p2p_len() -> u8 {
    30
}
fn default_hold() -> u16 {
    90
}
fn default_connect_retry() -> u64 {
    5
}
fn default_detection() -> String {
    "hold".into()
}
fn default_bfd_interval() -> u64 {
    300
}
fn default_bfd_multiplier() -> u32 {
    3
}

/// `[[events]]`: a fault at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFile {
    /// "30s", "1500ms", or seconds as a number.
    pub at: toml::Value,
    /// The site's name.
    pub site: String,
    /// "link-down", "link-up" or "bgp-reset".
    pub kind: String,
}

fn one() -> u64 {
    1
}
fn default_loss_target() -> f64 {
    0.1
}
fn default_mos_target() -> f64 {
    4.0
}

/// `[traffic]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficFile {
    /// Codec name.
    pub codec: String,
    /// Packet time, ms.
    #[serde(default = "default_ptime")]
    pub ptime_ms: u32,
    /// "random" or "sync".
    #[serde(default = "default_phase")]
    pub phase: String,
    /// 802.1Q tag on every frame.
    pub vlan: Option<u16>,
    /// Silence suppression.
    #[serde(default)]
    pub silence_suppression: bool,
    /// "fixed" (each site's `calls` for the whole run) or "poisson" (calls arrive as a
    /// Poisson process and last an exponential time: each site's `calls` is then its offered
    /// traffic in Erlangs).
    #[serde(default = "default_arrivals")]
    pub arrivals: String,
    /// Mean holding time with Poisson arrivals, seconds.
    pub mean_hold_s: Option<f64>,
}

fn default_arrivals() -> String {
    "fixed".into()
}

fn default_ptime() -> u32 {
    20
}
fn default_phase() -> String {
    "random".into()
}

/// `[link]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkFile {
    /// The customer's physical port, bit/s.
    #[serde(default = "default_port")]
    pub port_bps: u64,
    /// The port's egress buffer, bytes [default: 10 ms at the port's rate, 1,250,000 bytes at
    /// 1 Gbps]: frames that would wait longer are dropped at the port.
    pub port_buffer_bytes: Option<u64>,
    /// One-way propagation delay, ms.
    #[serde(default)]
    pub propagation_ms: f64,
    /// Uniform delay variation added per packet, 0..=this, ms.
    #[serde(default)]
    pub delay_variation_ms: f64,
}

impl Default for LinkFile {
    fn default() -> Self {
        LinkFile { port_bps: default_port(), port_buffer_bytes: None, propagation_ms: 0.0, delay_variation_ms: 0.0 }
    }
}

fn default_port() -> u64 {
    1_000_000_000
}

/// `[[sites]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteFile {
    /// A name for reports.
    pub name: String,
    /// Where: ashburn, san-jose, london, singapore.
    pub location: String,
    /// 10M, 100M, 500M or 1G.
    pub tier: String,
    /// Concurrent calls on this site.
    pub calls: u64,
    /// Policer burst, bytes [default: the tier's].
    pub burst_bytes: Option<u64>,
    /// What the policer counts: "frame" (MEF, default), "l2", "ip" or "wire".
    pub accounting: Option<String>,
}

/// How a failed link is noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    /// The BGP hold timer.
    Hold,
    /// BFD (RFC 5880) with this transmit interval and detect multiplier.
    Bfd {
        /// Interval, ns.
        interval_ns: u64,
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
    /// When, ns.
    pub at_ns: u64,
    /// Index into `sites`.
    pub site: usize,
    /// What.
    pub kind: FaultKind,
}

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
    /// ConnectRetry, ns.
    pub connect_retry_ns: u64,
    /// Detection.
    pub detection: Detection,
    /// Faults, by time.
    pub faults: Vec<Fault>,
    /// Unannounced calls at the first site.
    pub stray_calls: u64,
}

impl Control {
    /// Each site's slice of the customer's aggregate (site i's calls come from slice i): the
    /// aggregate split into the next power of two of `sites` parts.
    pub fn slices(&self, sites: usize) -> Vec<Ipv4Net> {
        slices_of(self.customer_prefix, sites).expect("checked: every slice is at most /24")
    }

    /// The /24 after the aggregate: never announced, the source of `stray_calls`.
    pub fn stray_prefix(&self) -> Ipv4Net {
        let next = u32::from(self.customer_prefix.broadcast()).wrapping_add(1);
        Ipv4Net::new(next.into(), 24).expect("24 <= 32").trunc()
    }
}

/// `prefix` split for `sites` sites, if every slice is still at most /24.
fn slices_of(prefix: Ipv4Net, sites: usize) -> Option<Vec<Ipv4Net>> {
    let len = prefix.prefix_len() + sites.next_power_of_two().trailing_zeros() as u8;
    (len <= 24).then(|| prefix.subnets(len).expect("len is within 24").take(sites).collect())
}

/// A checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// Simulated time, ns.
    pub duration_ns: u64,
    /// Failover check.
    pub check_failover: bool,
    /// Loss target, percent.
    pub loss_target_pct: f64,
    /// MOS target.
    pub mos_target: f64,
    /// Codec.
    pub codec: Codec,
    /// Packet time.
    pub ptime_ms: u32,
    /// Synchronized phases.
    pub sync: bool,
    /// VLAN id.
    pub vlan: Option<xconnect_frame::VlanId>,
    /// Silence suppression.
    pub silence_suppression: bool,
    /// Poisson arrivals with this mean holding time (ns); `None`: fixed calls.
    pub mean_hold_ns: Option<u64>,
    /// Port rate.
    pub port_bps: u64,
    /// Port buffer, bytes.
    pub port_buffer_bytes: u64,
    /// Propagation, ns.
    pub propagation_ns: u64,
    /// Delay variation, ns.
    pub variation_ns: u64,
    /// Sites.
    pub sites: Vec<Site>,
    /// The control plane, when the scenario has `[control]`.
    pub control: Option<Control>,
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
}

/// Everything wrong with a scenario, each naming its field.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The file (or "built-in default").
    pub file: String,
    /// One line per problem.
    pub problems: Vec<String>,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} problem(s):", self.file, self.problems.len())?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError { file: file.clone(), problems: vec![format!("cannot read: {e}")] })?;
        Self::parse(&text, &file)
    }

    /// The built-in default.
    pub fn default_scenario() -> Scenario {
        Self::parse(DEFAULT_SCENARIO, "built-in default scenario").expect("the default scenario is valid")
    }

    /// Parses and checks scenario text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let err = |problems| ScenarioError { file: file.to_string(), problems };
        let f: ScenarioFile = toml::from_str(text).map_err(|e| {
            // toml's message names the key and shows the line; keep it on one line per problem.
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            let msg = e.message().to_string();
            err(vec![match line {
                Some(l) => format!("line {l}: {msg}"),
                None => msg,
            }])
        })?;
        let mut problems = Vec::new();
        if !(f.duration_s > 0.0 && f.duration_s <= 86_400.0) {
            problems.push(format!("duration_s = {}: expected more than 0 and at most 86400 (one day)", f.duration_s));
        }
        let codec = match f.traffic.codec.parse::<Codec>() {
            Ok(c) => {
                if let Err(e) = c.check_ptime(f.traffic.ptime_ms) {
                    problems.push(format!("traffic.ptime_ms: {e}"));
                }
                Some(c)
            }
            Err(e) => {
                problems.push(format!("traffic.codec: {e}"));
                None
            }
        };
        let sync = match f.traffic.phase.as_str() {
            "random" => false,
            "sync" => true,
            other => {
                problems.push(format!("traffic.phase = {other:?}: expected \"random\" or \"sync\""));
                false
            }
        };
        let vlan = f.traffic.vlan.and_then(|v| {
            let id = xconnect_frame::VlanId::try_new(v);
            if id.is_none() {
                problems.push(format!("traffic.vlan = {v}: a VLAN id is 0-4095"));
            }
            id
        });
        let mean_hold_ns = match (f.traffic.arrivals.as_str(), f.traffic.mean_hold_s) {
            ("fixed", None) => None,
            ("fixed", Some(_)) => {
                problems.push("traffic.mean_hold_s: only with arrivals = \"poisson\"".into());
                None
            }
            ("poisson", Some(h)) if h > 0.0 && h <= 86_400.0 => Some((h * 1e9) as u64),
            ("poisson", Some(h)) => {
                problems.push(format!("traffic.mean_hold_s = {h}: expected more than 0 and at most 86400"));
                None
            }
            ("poisson", None) => {
                problems.push("traffic.mean_hold_s: needed with arrivals = \"poisson\" (e.g. 180)".into());
                None
            }
            (other, _) => {
                problems.push(format!("traffic.arrivals = {other:?}: expected \"fixed\" or \"poisson\""));
                None
            }
        };
        if f.link.port_bps == 0 {
            problems.push("link.port_bps: must be above 0".into());
        }
        for (k, v) in
            [("link.propagation_ms", f.link.propagation_ms), ("link.delay_variation_ms", f.link.delay_variation_ms)]
        {
            if !(0.0..=10_000.0).contains(&v) {
                problems.push(format!("{k} = {v}: expected 0 to 10000 ms"));
            }
        }
        if !(0.0..=100.0).contains(&f.loss_target_pct) {
            problems.push(format!("loss_target_pct = {}: expected 0 to 100", f.loss_target_pct));
        }
        if f.sites.is_empty() {
            problems.push("sites: at least one [[sites]] entry is needed".into());
        }
        let mut sites = Vec::new();
        for (i, s) in f.sites.iter().enumerate() {
            let at = format!("sites[{i}] ({})", s.name);
            let location =
                s.location.parse::<Location>().map_err(|e| problems.push(format!("{at}.location: {e}"))).ok();
            let tier = s.tier.parse::<Tier>().map_err(|e| problems.push(format!("{at}.tier: {e}"))).ok();
            if let (Some(l), Some(t)) = (location, tier) {
                if !l.offers(t) {
                    problems.push(format!(
                        "{at}.tier: {l} does not offer {t} (500 Mbps is sold only in London and Singapore)"
                    ));
                }
            }
            if s.calls == 0 {
                problems.push(format!("{at}.calls: must be at least 1"));
            }
            if s.burst_bytes == Some(0) {
                problems.push(format!("{at}.burst_bytes: must be at least 1 (and at least the largest frame)"));
            }
            if f.sites[..i].iter().any(|o| o.name == s.name) {
                problems.push(format!("{at}.name: another site has the same name"));
            }
            let accounting = match s.accounting.as_deref().unwrap_or("frame").parse::<xconnect_policer::Accounting>() {
                Ok(a) => a,
                Err(e) => {
                    problems.push(format!("{at}.accounting: {e}"));
                    xconnect_policer::Accounting::Frame
                }
            };
            if let (Some(location), Some(tier)) = (location, tier) {
                let burst_bytes = s.burst_bytes.unwrap_or(tier.default_burst_bytes());
                sites.push(Site { name: s.name.clone(), location, tier, calls: s.calls, burst_bytes, accounting });
            }
        }
        let control = check_control(&f, text, &mut problems);
        check_address_room(&f, &sites, control.as_ref(), &mut problems);
        if !problems.is_empty() {
            let problems = problems
                .into_iter()
                .map(|p| match locate(text, &p) {
                    Some(line) if !p.starts_with("line ") => format!("line {line}: {p}"),
                    _ => p,
                })
                .collect();
            return Err(err(problems));
        }
        Ok(Scenario {
            name: f.name,
            seed: f.seed,
            duration_ns: (f.duration_s * 1e9) as u64,
            check_failover: f.check_failover,
            loss_target_pct: f.loss_target_pct,
            mos_target: f.mos_target,
            codec: codec.expect("checked above"),
            ptime_ms: f.traffic.ptime_ms,
            sync,
            vlan,
            silence_suppression: f.traffic.silence_suppression,
            mean_hold_ns,
            port_bps: f.link.port_bps,
            port_buffer_bytes: f.link.port_buffer_bytes.unwrap_or(f.link.port_bps / 800),
            propagation_ns: (f.link.propagation_ms * 1e6) as u64,
            variation_ns: (f.link.delay_variation_ms * 1e6) as u64,
            sites,
            control,
        })
    }
}

/// The line of the field a problem names ("duration_s = ...", "traffic.codec: ...",
/// "sites[1] (name).tier: ...", "control.hold_s = ..."): the key's line in its table, else the
/// table's header line.
fn locate(text: &str, problem: &str) -> Option<usize> {
    let path = problem.split([':', ' ']).next()?;
    let (table, index, key) = if let Some((name, rest)) = path.split_once('[') {
        // "sites[1] (name).key" or "events[0].key"
        let (i, _) = rest.split_once(']')?;
        let after = problem.split_once(']')?.1;
        let after = if after.starts_with(" (") { after.split_once(").")?.1 } else { after.strip_prefix('.')? };
        (name, i.parse::<usize>().ok()?, after.split([':', ' ']).next().unwrap_or(""))
    } else if let Some((t, k)) = path.split_once('.') {
        (t, 0, k)
    } else {
        ("", 0, path)
    };
    let (mut current, mut seen) = (String::new(), std::collections::HashMap::<String, usize>::new());
    let mut header_line = None;
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(h) = l.strip_prefix("[[").and_then(|h| h.split_once("]]")).map(|(h, _)| h.trim()) {
            let c = seen.entry(h.to_string()).or_insert(0);
            current = format!("{h}#{c}");
            *c += 1;
        } else if let Some(h) = l.strip_prefix('[').and_then(|h| h.split_once(']')).map(|(h, _)| h.trim()) {
            current = format!("{h}#0");
        } else {
            let here = if table.is_empty() { current.is_empty() } else { current == format!("{table}#{index}") };
            let k = l.split('=').next().unwrap_or("").trim();
            if here && !key.is_empty() && k == key && l.contains('=') {
                return Some(n + 1);
            }
            continue;
        }
        if current == format!("{table}#{index}") {
            header_line = Some(n + 1);
        }
    }
    header_line
}

/// Every call needs its own address/port pair inside the prefix it is sent from (the default
/// customer prefix, or the site's slice with `[control]`); a failover run puts every site's
/// calls on one site's plan.
fn check_address_room(f: &ScenarioFile, sites: &[Site], control: Option<&Control>, problems: &mut Vec<String>) {
    let room =
        |p: Ipv4Net| AddressPlan { customer: (p.network(), p.prefix_len()), ..AddressPlan::default() }.capacity();
    let default = AddressPlan::default();
    let default = Ipv4Net::new(default.customer.0, default.customer.1).expect("valid default");
    let slices = control.map(|c| c.slices(sites.len()));
    for (i, s) in sites.iter().enumerate() {
        let prefix = slices.as_ref().map_or(default, |v| v[i]);
        if s.calls > room(prefix) {
            problems.push(format!(
                "sites[{i}] ({}).calls = {}: more than the {} unique address/port pairs of {prefix}",
                s.name,
                s.calls,
                room(prefix)
            ));
        }
    }
    let total: u64 = sites.iter().map(|s| s.calls).sum();
    if f.check_failover && control.is_none() && sites.len() > 1 && total > room(default) {
        problems.push(format!(
            "check_failover: {total} calls on one site need more than the {} unique address/port pairs of {default}",
            room(default)
        ));
    }
    if let Some(c) = control {
        if c.stray_calls > room(c.stray_prefix()) {
            problems.push(format!(
                "control.stray_calls = {}: more than the {} address/port pairs of {}",
                c.stray_calls,
                room(c.stray_prefix()),
                c.stray_prefix()
            ));
        }
    }
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// "30s", "1500ms", "2m" or a number of seconds, in ns.
fn parse_time(v: &toml::Value) -> Option<u64> {
    let secs = match v {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        toml::Value::String(s) => {
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
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then(|| (secs * 1e9).round() as u64)
}

fn check_control(f: &ScenarioFile, text: &str, problems: &mut Vec<String>) -> Option<Control> {
    let Some(c) = &f.control else {
        if let Some(e) = f.events.first() {
            problems.push(format!(
                "line {}: events: fault injection needs a [control] section",
                line_of(text, e.span().start)
            ));
        }
        return None;
    };
    let net = |field: &str, s: &str, problems: &mut Vec<String>| match s.parse::<ipnet::Ipv4Net>() {
        Ok(n) if n.trunc() == n => Some(n),
        Ok(n) => {
            problems.push(format!(
                "control.{field} = {s:?}: bits set after /{}; did you mean {}?",
                n.prefix_len(),
                n.trunc()
            ));
            None
        }
        Err(_) => {
            problems.push(format!("control.{field} = {s:?}: expected an IPv4 prefix a.b.c.d/len"));
            None
        }
    };
    let customer_prefix = net("customer_prefix", &c.customer_prefix, problems);
    if let Some(p) = customer_prefix {
        if let Err(r) = xconnect_bgp::policy::check_prefix(p, 8, 24) {
            problems.push(format!("control.customer_prefix = {p}: {r}"));
        }
        if slices_of(p, f.sites.len()).is_none() {
            problems.push(format!(
                "control.customer_prefix = {p}: too small to give each of {} sites its own slice of at most /24",
                f.sites.len()
            ));
        }
    }
    if let Some(a) = c.customer_asn {
        if let Err(e) = xconnect_interconnect::request::check_asn(i64::from(a)) {
            problems.push(format!("control.customer_asn: {e}"));
        }
    }
    let provider_prefixes: Vec<_> =
        c.provider_prefixes.iter().filter_map(|s| net("provider_prefixes", s, problems)).collect();
    let p2p_pool = net("p2p_pool", &c.p2p_pool, problems);
    if let Some(pool) = p2p_pool {
        match xconnect_interconnect::onboarding::P2pPool::new(pool, c.p2p_len) {
            Err(e) => problems.push(format!("control.p2p_len: {e}")),
            Ok(mut p) => {
                if (0..f.sites.len()).any(|_| p.allocate().is_none()) {
                    problems.push(format!(
                        "control.p2p_pool = {pool}: holds fewer /{} subnets than the {} sites need",
                        c.p2p_len,
                        f.sites.len()
                    ));
                }
            }
        }
    }
    if c.hold_s != 0 && c.hold_s < 3 {
        problems.push(format!("control.hold_s = {}: expected 0 or at least 3 (RFC 4271)", c.hold_s));
    }
    let detection = match c.detection.as_str() {
        "hold" => Detection::Hold,
        "bfd" => {
            if c.bfd_interval_ms == 0 || c.bfd_multiplier == 0 {
                problems.push("control.bfd_interval_ms and bfd_multiplier: must be at least 1".into());
            }
            Detection::Bfd { interval_ns: c.bfd_interval_ms * 1_000_000, multiplier: c.bfd_multiplier }
        }
        other => {
            problems.push(format!("control.detection = {other:?}: expected \"hold\" or \"bfd\""));
            Detection::Hold
        }
    };
    let duration_ns = (f.duration_s * 1e9) as u64;
    let mut faults = Vec::new();
    for (i, e) in f.events.iter().enumerate() {
        let ev = e.get_ref();
        let at = format!("events[{i}]");
        let at_ns = parse_time(&ev.at);
        match at_ns {
            None => problems.push(format!("{at}.at = {}: expected a time such as \"30s\" or \"1500ms\"", ev.at)),
            Some(t) if t >= duration_ns => {
                problems.push(format!("{at}.at = {}: after the end of the simulation ({} s)", ev.at, f.duration_s))
            }
            Some(_) => {}
        }
        let site = f.sites.iter().position(|s| s.name == ev.site);
        if site.is_none() {
            let names: Vec<&str> = f.sites.iter().map(|s| s.name.as_str()).collect();
            problems.push(format!("{at}.site = {:?}: no such site (sites: {})", ev.site, names.join(", ")));
        }
        let kind = match ev.kind.as_str() {
            "link-down" => Some(FaultKind::LinkDown),
            "link-up" => Some(FaultKind::LinkUp),
            "bgp-reset" => Some(FaultKind::BgpReset),
            other => {
                problems.push(format!("{at}.kind = {other:?}: expected \"link-down\", \"link-up\" or \"bgp-reset\""));
                None
            }
        };
        if let (Some(at_ns), Some(site), Some(kind)) = (at_ns, site, kind) {
            faults.push(Fault { at_ns, site, kind });
        }
    }
    faults.sort_by_key(|f| f.at_ns);
    Some(Control {
        customer_prefix: customer_prefix?,
        customer_asn: c.customer_asn,
        provider_asn: c.provider_asn,
        provider_prefixes,
        p2p_pool: p2p_pool?,
        p2p_len: c.p2p_len,
        hold_s: c.hold_s,
        connect_retry_ns: c.connect_retry_s.max(1) * 1_000_000_000,
        detection,
        faults,
        stray_calls: c.stray_calls,
    })
}

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
    fn unknown_key_names_key_and_line() {
        let text = DEFAULT_SCENARIO.replace("seed = 1", "seed = 1\nsede = 2");
        let e = Scenario::parse(&text, "x.toml").unwrap_err();
        let msg = e.to_string();
        let line = text.lines().position(|l| l.starts_with("sede")).unwrap() + 1;
        assert!(msg.contains("x.toml") && msg.contains("sede") && msg.contains(&format!("line {line}:")), "{msg}");
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let text = DEFAULT_SCENARIO
            .replace("duration_s = 30", "duration_s = -5")
            .replace("codec = \"g711u\"", "codec = \"speex\"")
            .replace("tier = \"100M\"\ncalls = 1000\n\n", "tier = \"500M\"\ncalls = 0\n\n");
        let e = Scenario::parse(&text, "x.toml").unwrap_err();
        let all = e.problems.join("\n");
        assert!(all.contains("line 7: duration_s = -5"), "{all}");
        assert!(all.contains("line 15: traffic.codec"), "{all}");
        assert!(all.contains("line 29: sites[0] (ashburn).tier: ashburn does not offer 500M"), "{all}");
        assert!(all.contains("line 30: sites[0] (ashburn).calls"), "{all}");
        assert_eq!(e.problems.len(), 4, "{all}");
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
            "line 21: control.hold_s = 2",
            "line 22: control.detection = \"ping\"",
            "line 37: events[0].at = \"90s\": after the end of the simulation (60 s)",
            "line 38: events[0].site = \"paris\": no such site (sites: ashburn, san-jose)",
            "line 39: events[0].kind = \"meteor\"",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{all}");
        }
        // A wrong type: TOML's own error, with its line.
        let e = Scenario::parse(
            &include_str!("../../../fixtures/scenarios/failover-hold.toml").replace("hold_s = 9", "hold_s = \"nine\""),
            "t.toml",
        )
        .unwrap_err();
        assert!(e.problems[0].starts_with("line 21:"), "{e}");
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
        assert!(e.to_string().contains("line 18: sites[0] (ashburn).calls = 10000000: more than the"), "{e}");
        // Events without [control].
        let e = Scenario::parse(
            &format!("{DEFAULT_SCENARIO}\n[[events]]\nat = 1\nsite = \"ashburn\"\nkind = \"link-down\"\n"),
            "t.toml",
        )
        .unwrap_err();
        assert!(e.problems[0].contains("events: fault injection needs a [control] section"), "{e}");
    }
}
