//! Scenario files: TOML deserialized into typed structs. Unknown keys are errors naming the key
//! and its line; every value is checked, with the field named, before any simulation starts.

use std::path::Path;

use serde::Deserialize;
use xconnect_interconnect::{Location, Tier};
use xconnect_trafgen::Codec;

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
        if !problems.is_empty() {
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
        })
    }
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
        assert!(all.contains("duration_s = -5"), "{all}");
        assert!(all.contains("traffic.codec"), "{all}");
        assert!(all.contains("sites[0] (ashburn).tier: ashburn does not offer 500M"), "{all}");
        assert!(all.contains("sites[0] (ashburn).calls"), "{all}");
        assert_eq!(e.problems.len(), 4, "{all}");
    }
}
