//! The control plane in virtual time, and the traffic that follows it (scenarios with
//! `[control]`).
//!
//! 1. Onboarding per site (crates/interconnect): LOA, link up, point-to-point subnet and, for a
//!    customer without one, a private ASN.
//! 2. Per site an eBGP session pair — the customer's border router (active) and the provider
//!    edge (passive), both the real [`Session`] state machine of crates/bgp — over the site's
//!    link, in virtual time with the link's propagation delay. Each site announces the
//!    customer's aggregate and its own slice of it (site i's calls come from slice i); the
//!    provider announces its prefixes. Import policies are the real ones.
//! 3. Faults (`[[events]]`): a link that goes down carries nothing (so keepalives stop and a
//!    NOTIFICATION cannot arrive); detection is the hold timer, or BFD whose last packet
//!    before the failure plus multiplier × interval decides; `bgp-reset` is the provider
//!    clearing the session.
//! 4. Routing: the provider's RIB across sessions answers "which site reaches this customer
//!    address" (longest prefix: the slice while its site is up, else the aggregate via the
//!    other); each customer site router prefers its own eBGP route to the provider and falls
//!    back to the iBGP copy learned from another site (RFC 4271 §9.1.2.2 eBGP over iBGP; ties
//!    by the lower BGP identifier). ECMP is off.
//! 5. Traffic: each site's calls go customer → provider out of the site their router chose at
//!    the frame's send time, through that site's port and policer; a frame sent into a failed
//!    link before the routers noticed is lost (convergence loss, counted per call); a frame
//!    from an address the customer never announced is dropped by the provider's ACL.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ipnet::Ipv4Net;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use xconnect_bgp::fsm::{Action, Event, Session, SessionConfig, State};
use xconnect_bgp::policy::ImportPolicy;
use xconnect_bgp::rib::{Rib, Route};
use xconnect_bgp::wire::{AsPath, Cease, Notification, Origin, PathAttributes, Update};
use xconnect_interconnect::onboarding::{Loa, Onboarding, OnboardingEvent, P2pLink, P2pPool, Provisioning};
use xconnect_time::{Nanos, Span};
use xconnect_trafgen::{AddressPlan, Arrivals, CallPlan, Phase, Source};

use crate::scenario::{Control, Detection, FaultKind, Scenario};
use crate::site::{calls_below, mos_text, rows_against_sent, CallQuality, Delay, Edge, EdgeDrop, Receiver, SiteReport};
use xconnect_dataplane::rtp::RtpStreamRow;

/// The MOS under which a call counts as degraded in the failover report.
pub const MOS_DEGRADED: f64 = 3.6;

/// One site's onboarding result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OnboardingRow {
    /// Site.
    pub site: String,
    /// The LOA.
    pub loa: Option<Loa>,
    /// Point-to-point addresses.
    pub p2p: Option<P2pLink>,
    /// The customer's ASN on the session.
    pub customer_asn: Option<u32>,
    /// Whether the provider assigned it.
    pub asn_assigned: bool,
    /// What the customer announces here.
    pub announces: Vec<String>,
    /// When the session first reached Established, s (None: never).
    pub established_s: Option<f64>,
}

/// One line of the timeline.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimelineRow {
    /// Virtual time, s.
    pub t_s: f64,
    /// Site.
    pub site: String,
    /// What happened.
    pub event: TimelineEvent,
    /// Details.
    pub detail: String,
}

/// What a timeline line records (in the JSON by [`TimelineEvent::name`]: "link-down", …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineEvent {
    /// A scheduled fault: the link went down.
    LinkDown,
    /// The link came back.
    LinkUp,
    /// A scheduled BGP reset.
    BgpReset,
    /// A session's state changed.
    State,
    /// A NOTIFICATION was sent.
    NotificationSent,
    /// A NOTIFICATION was received.
    NotificationReceived,
    /// A failure was detected (BFD).
    Detected,
    /// An announced route was rejected by the import policy.
    Rejected,
    /// Routes were withdrawn from a RIB.
    Withdraw,
    /// The best path of a site's traffic changed.
    BestPath,
}

impl TimelineEvent {
    /// The name the JSON uses.
    pub fn name(self) -> &'static str {
        match self {
            TimelineEvent::LinkDown => "link-down",
            TimelineEvent::LinkUp => "link-up",
            TimelineEvent::BgpReset => "bgp-reset",
            TimelineEvent::State => "state",
            TimelineEvent::NotificationSent => "notification-sent",
            TimelineEvent::NotificationReceived => "notification-received",
            TimelineEvent::Detected => "detected",
            TimelineEvent::Rejected => "rejected",
            TimelineEvent::Withdraw => "withdraw",
            TimelineEvent::BestPath => "best-path",
        }
    }
}

impl Serialize for TimelineEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl From<FaultKind> for TimelineEvent {
    fn from(k: FaultKind) -> Self {
        match k {
            FaultKind::LinkDown => TimelineEvent::LinkDown,
            FaultKind::LinkUp => TimelineEvent::LinkUp,
            FaultKind::BgpReset => TimelineEvent::BgpReset,
        }
    }
}

/// How a session learnt that its peer was gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetectedBy {
    /// Its hold timer expired.
    HoldTimer,
    /// BFD declared the path down.
    Bfd,
    /// It sent a NOTIFICATION for another reason (its meaning).
    SentNotification(String),
    /// The peer's NOTIFICATION.
    ReceivedNotification(Notification),
    /// The transport closed.
    ConnectionClosed,
    /// Not detected within the run.
    NotDetected,
}

impl std::fmt::Display for DetectedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetectedBy::HoldTimer => f.write_str("hold timer"),
            DetectedBy::Bfd => f.write_str("BFD"),
            DetectedBy::SentNotification(m) => f.write_str(m),
            DetectedBy::ReceivedNotification(n) => write!(f, "notification {n}"),
            DetectedBy::ConnectionClosed => f.write_str("connection closed"),
            DetectedBy::NotDetected => f.write_str("not detected"),
        }
    }
}

impl Serialize for DetectedBy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One failure and the recovery from it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FailoverRow {
    /// The failed site.
    pub site: String,
    /// Link down, s.
    pub down_s: f64,
    /// The provider edge noticed (its session left Established), s.
    pub provider_detected_s: Option<f64>,
    /// The customer router noticed, s.
    pub customer_detected_s: Option<f64>,
    /// How: "hold timer", "BFD", …
    pub detected_by: DetectedBy,
    /// Customer → provider traffic of the site's calls left the failed link, s.
    pub traffic_moved_s: Option<f64>,
    /// Provider → customer traffic to the site's slice moved (provider RIB best path), s.
    pub return_traffic_moved_s: Option<f64>,
    /// Where the traffic went.
    pub moved_to: Option<String>,
    /// traffic_moved − down, s: the outage window.
    pub outage_s: Option<f64>,
    /// Frames lost to the outage, all calls.
    pub lost_frames: u64,
    /// Per call of the failed site: fewest, most, mean frames lost.
    pub lost_per_call_min: u64,
    /// Most.
    pub lost_per_call_max: u64,
    /// Mean.
    pub lost_per_call_mean: f64,
    /// What the offered rate × the outage window predicts per call (outage / packet time).
    pub expected_per_call: f64,
}

/// A surviving site after the traffic moved.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SurvivorRow {
    /// Site.
    pub site: String,
    /// Tier, bit/s.
    pub tier_bps: u64,
    /// From when (the last traffic move), s.
    pub from_s: f64,
    /// Frames it was offered from then on.
    pub offered_frames: u64,
    /// Of those, dropped by its policer or port.
    pub dropped_frames: u64,
    /// Percent.
    pub loss_pct: f64,
    /// Whether it carried the whole load within the loss target.
    pub carried: bool,
}

/// The control-plane part of a simulation report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ControlReport {
    /// Onboarding per site.
    pub onboarding: Vec<OnboardingRow>,
    /// "hold timer 90 s" or "BFD 300 ms × 3".
    pub detection: String,
    /// Everything that happened, by time.
    pub timeline: Vec<TimelineRow>,
    /// One row per link-down fault.
    pub failovers: Vec<FailoverRow>,
    /// Calls whose MOS ended below 3.6.
    pub calls_below_mos_3_6: u64,
    /// Survivors after the last traffic move (empty without a failover).
    pub survivors: Vec<SurvivorRow>,
    /// Frames the provider's ACL dropped (source or destination outside the announced and the
    /// provider's routes).
    pub acl_drops: u64,
    /// When the calls started: once every site's routes were in, s.
    pub traffic_start_s: f64,
    /// Frames sent with no route outside any failure window (a site whose BGP never came up).
    pub unrouted_frames: u64,
    /// Only one site: a single point of failure.
    pub single_point_of_failure: bool,
}

const CUSTOMER: usize = 0;
const PROVIDER: usize = 1;

#[derive(Debug)]
enum Cp {
    Deliver { site: usize, to: usize, bytes: Vec<u8> },
    Connect { site: usize },
    Fails { site: usize, to: usize },
    Fault { site: usize, kind: FaultKind },
    BfdDown { site: usize, side: usize },
}

/// What became of a frame.
enum Fate {
    /// At the provider edge at this time, via this site.
    Passed(u64),
    /// Sent into a failed link or with no route.
    Blackholed,
    /// Dropped by the provider's ACL.
    Acl,
    /// Dropped by the port or the policer.
    Edge(EdgeDrop),
}

/// Piecewise-constant choice over time: (from, value) with increasing `from`.
type Timeline<T> = Vec<(u64, T)>;

fn at<T: Copy>(tl: &Timeline<T>, cursor: &mut usize, t: u64) -> T {
    while *cursor + 1 < tl.len() && tl[*cursor + 1].0 <= t {
        *cursor += 1;
    }
    tl[*cursor].1
}

struct ControlPlane<'a> {
    sc: &'a Scenario,
    c: &'a Control,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Cp>,
    sessions: Vec<[Session; 2]>,
    bfd_phase: Vec<[u64; 2]>,
    provider_rib: Rib,
    /// Provider prefixes learned over each site's customer session.
    customer_learned: Vec<bool>,
    onboarding: Vec<Onboarding>,
    established_at: Vec<Option<u64>>,
    slices: Vec<Ipv4Net>,
    /// Whether the RIBs changed since the routes were last chosen.
    routes_changed: bool,
    timeline: Vec<TimelineRow>,
    /// Per home site: egress site for customer → provider (None: no route).
    egress: Vec<Timeline<Option<usize>>>,
    /// Per home site: the site the provider sends its slice's traffic to.
    ret: Vec<Timeline<Option<usize>>>,
    /// Per site: link state.
    links: Vec<Timeline<bool>>,
    /// When each side left Established, and why.
    left_established: Vec<[Vec<(u64, DetectedBy)>; 2]>,
    /// Why the session being handled is about to leave Established.
    provisioning: Provisioning,
}

impl<'a> ControlPlane<'a> {
    fn name(&self, i: usize) -> String {
        self.sc.sites[i].name.clone()
    }

    fn log(&mut self, site: usize, event: TimelineEvent, detail: String) {
        self.timeline.push(TimelineRow { t_s: self.now as f64 / 1e9, site: self.name(site), event, detail });
    }

    fn push(&mut self, t: u64, ev: Cp) {
        self.seq += 1;
        self.queue.insert((t, self.seq), ev);
    }

    fn prop(&self) -> u64 {
        self.sc.propagation_ns
    }

    fn link_up(&self, site: usize) -> bool {
        self.links[site].last().is_some_and(|&(_, up)| up)
    }

    fn event(&mut self, site: usize, side: usize, ev: Event<'_>) {
        let mut out = Vec::new();
        self.sessions[site][side].handle(Nanos(self.now), ev, &mut out);
        self.apply(site, side, out);
    }

    fn apply(&mut self, site: usize, side: usize, out: Vec<Action>) {
        let who = if side == CUSTOMER { "customer" } else { "provider" };
        let other = 1 - side;
        // A NOTIFICATION comes in the same batch of actions as the state change it causes.
        let mut cause = None;
        for a in out {
            match a {
                Action::Connect => {
                    let t = self.now + 2 * self.prop();
                    self.push(t, Cp::Connect { site });
                }
                Action::Send(bytes) => {
                    if self.link_up(site) {
                        let t = self.now + self.prop();
                        self.push(t, Cp::Deliver { site, to: other, bytes });
                    }
                }
                Action::Disconnect => {
                    if self.link_up(site) {
                        let t = self.now + self.prop();
                        self.push(t, Cp::Fails { site, to: other });
                    }
                }
                Action::StateChange { from, to } => {
                    self.log(site, TimelineEvent::State, format!("{who} {from} -> {to}"));
                    if to == State::Established {
                        self.established(site, side);
                    }
                    if from == State::Established {
                        let how = cause.take().unwrap_or(DetectedBy::ConnectionClosed);
                        self.left_established[site][side].push((self.now, how));
                        self.session_down(site, side);
                    }
                }
                Action::OpenReceived(_) | Action::RouteRefresh => {}
                Action::Update(u) => self.update(site, side, u),
                Action::NotificationSent(n, reason) => {
                    self.log(site, TimelineEvent::NotificationSent, format!("{who}: {} ({reason})", n));
                    cause = Some(if n.is_hold_timer_expired() {
                        DetectedBy::HoldTimer
                    } else if n.is_cease(Cease::BfdDown) {
                        DetectedBy::Bfd
                    } else {
                        DetectedBy::SentNotification(n.meaning())
                    });
                }
                Action::NotificationReceived(n) => {
                    self.log(site, TimelineEvent::NotificationReceived, format!("{who}: {n}"));
                    cause = Some(DetectedBy::ReceivedNotification(n));
                }
            }
        }
        self.reroute();
    }

    fn established(&mut self, site: usize, side: usize) {
        if side == CUSTOMER && self.established_at[site].is_none() {
            self.established_at[site] = Some(self.now);
            self.onboarding[site]
                .handle(OnboardingEvent::BgpEstablished, &mut self.provisioning)
                .expect("addressed before BGP");
        }
        let announce: Vec<Ipv4Net> = if side == CUSTOMER {
            vec![self.slices[site], self.c.customer_prefix]
        } else {
            self.c.provider_prefixes.clone()
        };
        let o = &self.onboarding[site];
        let p2p = o.p2p.expect("addressed before BGP");
        let (asn, nh) = if side == CUSTOMER {
            (o.customer_asn.expect("addressed"), p2p.customer)
        } else {
            (self.c.provider_asn, p2p.provider)
        };
        let u = Update {
            attrs: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence(vec![asn])),
                next_hop: Some(nh),
                ..PathAttributes::default()
            },
            nlri: announce,
            ..Update::default()
        };
        let mut out = Vec::new();
        self.sessions[site][side].send_update(Nanos(self.now), &u, &mut out);
        self.apply(site, side, out);
    }

    fn update(&mut self, site: usize, side: usize, u: Update) {
        let policy = if side == PROVIDER {
            ImportPolicy::provider(self.onboarding[site].customer_asn.expect("addressed"))
        } else {
            ImportPolicy::Customer { provider_prefixes: self.c.provider_prefixes.clone() }
        };
        self.routes_changed = true;
        let attrs = Arc::new(u.attrs);
        for p in &u.withdrawn {
            if side == PROVIDER {
                self.provider_rib.withdraw(site as u32, *p);
            }
        }
        for p in &u.nlri {
            match policy.check(*p, &attrs) {
                Ok(()) if side == PROVIDER => {
                    let route = Route {
                        session: site as u32,
                        peer_router_id: self.onboarding[site].p2p.expect("addressed").customer,
                        ebgp: true,
                        attrs: attrs.clone(),
                    };
                    self.provider_rib.announce(*p, route);
                }
                Ok(()) => self.customer_learned[site] = true,
                Err(r) => self.log(site, TimelineEvent::Rejected, format!("{p}: {r}")),
            }
        }
    }

    fn session_down(&mut self, site: usize, side: usize) {
        self.routes_changed = true;
        if side == PROVIDER {
            let changes = self.provider_rib.drop_session(site as u32);
            for c in changes {
                let to = c.new.map_or("nowhere".to_string(), |s| self.name(s as usize));
                self.log(site, TimelineEvent::Withdraw, format!("provider RIB: {} now via {to}", c.prefix));
            }
        } else {
            self.customer_learned[site] = false;
            self.log(
                site,
                TimelineEvent::Withdraw,
                format!("customer router at {}: provider routes gone", self.name(site)),
            );
        }
    }

    /// Recomputes both directions' choices after the RIBs changed, and records changes.
    fn reroute(&mut self) {
        if !std::mem::take(&mut self.routes_changed) {
            return;
        }
        let n = self.sc.sites.len();
        let fib = self.provider_rib.fib();
        for h in 0..n {
            // The customer router at h: its own eBGP route, else the iBGP copy from another site
            // (the lower BGP identifier of the provider edge wins a tie).
            let mut rib = Rib::new();
            for j in 0..n {
                if self.customer_learned[j] {
                    let r = Route {
                        session: j as u32,
                        peer_router_id: self.onboarding[j].p2p.expect("addressed").provider,
                        ebgp: j == h,
                        attrs: Arc::new(PathAttributes {
                            origin: Some(Origin::Igp),
                            as_path: Some(AsPath::sequence(vec![self.c.provider_asn])),
                            ..PathAttributes::default()
                        }),
                    };
                    rib.announce(self.c.provider_prefixes[0], r);
                }
            }
            let e = rib.best(self.c.provider_prefixes[0]).map(|r| r.session as usize);
            if self.egress[h].last().map(|x| x.1) != Some(e) {
                if !self.egress[h].is_empty() {
                    let to = e.map_or("no route".into(), |s| self.name(s));
                    self.log(
                        h,
                        TimelineEvent::BestPath,
                        format!("customer -> provider traffic of {} calls now via {to}", self.name(h)),
                    );
                }
                self.egress[h].push((self.now, e));
            }
            let fib_site = fib.lookup(u32::from(self.slices[h].network()) + 1).map(|s| s as usize);
            if self.ret[h].last().map(|x| x.1) != Some(fib_site) {
                if !self.ret[h].is_empty() {
                    let to = fib_site.map_or("no route".into(), |s| self.name(s));
                    self.log(h, TimelineEvent::BestPath, format!("provider -> {} now via {to}", self.slices[h]));
                }
                self.ret[h].push((self.now, fib_site));
            }
        }
    }

    /// Ends `side`'s session at `site` with `n` (sent if the link still carries it).
    fn tear_down(&mut self, site: usize, side: usize, n: Notification, reason: &str) {
        let mut out = Vec::new();
        self.sessions[site][side].notify_and_reset(Nanos(self.now), n, reason.into(), &mut out);
        self.apply(site, side, out);
    }

    fn fault(&mut self, site: usize, kind: FaultKind) {
        self.log(site, kind.into(), String::new());
        match kind {
            FaultKind::LinkDown => {
                self.links[site].push((self.now, false));
                if let Detection::Bfd { interval_ns, multiplier } = self.c.detection {
                    for side in [CUSTOMER, PROVIDER] {
                        // The last BFD packet from the other side that arrived before the cut.
                        let phase = self.bfd_phase[site][1 - side];
                        let latest_tx = self.now.saturating_sub(self.prop());
                        let k = latest_tx.saturating_sub(phase) / interval_ns;
                        let last_rx = phase + k * interval_ns + self.prop();
                        let detect = last_rx + u64::from(multiplier) * interval_ns;
                        self.push(detect.max(self.now), Cp::BfdDown { site, side });
                    }
                }
            }
            FaultKind::LinkUp => {
                self.links[site].push((self.now, true));
            }
            FaultKind::BgpReset => {
                self.tear_down(site, PROVIDER, Notification::cease(Cease::AdminReset), "administrative reset");
                self.event(site, PROVIDER, Event::ManualStart);
            }
        }
    }

    fn run(&mut self, end: u64) {
        loop {
            let timer = self
                .sessions
                .iter()
                .enumerate()
                .flat_map(|(i, s)| {
                    s.iter().enumerate().filter_map(move |(x, s)| s.next_deadline().map(|d| (d.0, i, x)))
                })
                .min();
            let queued = self.queue.keys().next().copied();
            match (timer, queued) {
                (Some((t, i, x)), q) if t <= end && q.is_none_or(|(qt, _)| t < qt) => {
                    self.now = t;
                    self.event(i, x, Event::Tick);
                }
                (_, Some(k)) if k.0 <= end => {
                    let ev = self.queue.remove(&k).expect("present");
                    self.now = k.0;
                    match ev {
                        Cp::Deliver { site, to, bytes } => {
                            if self.link_up(site) {
                                self.event(site, to, Event::Data(&bytes));
                            }
                        }
                        Cp::Connect { site } => {
                            let ok = self.link_up(site) && self.sessions[site][PROVIDER].state() == State::Active;
                            if ok {
                                self.event(site, PROVIDER, Event::TcpConnected);
                                self.event(site, CUSTOMER, Event::TcpConnected);
                            } else {
                                self.event(site, CUSTOMER, Event::TcpFails);
                            }
                        }
                        Cp::Fails { site, to } => {
                            if self.link_up(site) {
                                self.event(site, to, Event::TcpFails);
                            }
                        }
                        Cp::Fault { site, kind } => self.fault(site, kind),
                        Cp::BfdDown { site, side } => {
                            if !self.link_up(site) && self.sessions[site][side].state() == State::Established {
                                self.log(
                                    site,
                                    TimelineEvent::Detected,
                                    format!("{} side: BFD down", if side == 0 { "customer" } else { "provider" }),
                                );
                                self.tear_down(site, side, Notification::cease(Cease::BfdDown), "BFD down");
                            }
                        }
                    }
                }
                _ => return,
            }
        }
    }
}

/// Runs a scenario with `[control]`: the control plane first (it does not depend on the voice
/// traffic: BGP's few bytes are not policed here), then every site's calls through the routes
/// it chose, in one time-ordered pass.
pub fn simulate_control(sc: &Scenario, progress: &AtomicU64) -> (Vec<SiteReport>, ControlReport, u64) {
    let c = sc.control.as_ref().expect("called for scenarios with [control]");
    let n = sc.sites.len();
    // Onboarding: LOA, link up, addresses and ASN.
    let mut provisioning = Provisioning::new(P2pPool::new(c.p2p_pool, c.p2p_len).expect("scenario checked"));
    let mut onboarding = Vec::new();
    for (i, s) in sc.sites.iter().enumerate() {
        let mut o = Onboarding::new(&s.name, s.location, c.customer_asn, i as u32);
        o.handle(OnboardingEvent::Order, &mut provisioning).expect("fresh onboarding");
        o.handle(OnboardingEvent::LinkUp, &mut provisioning).expect("pool sized by the check");
        onboarding.push(o);
    }
    let slices = c.slices(n);
    let mut rng = StdRng::seed_from_u64(sc.seed ^ 0xbfd0);
    let mut cp = ControlPlane {
        sc,
        c,
        now: 0,
        seq: 0,
        queue: BTreeMap::new(),
        sessions: onboarding
            .iter()
            .map(|o| {
                let p2p = o.p2p.expect("addressed");
                let asn = o.customer_asn.expect("addressed");
                let mk = |local, peer, id, passive| {
                    Session::new(SessionConfig {
                        hold_time: c.hold_s,
                        connect_retry: Span(c.connect_retry_ns),
                        passive,
                        ..SessionConfig::new(local, peer, id)
                    })
                };
                [mk(asn, c.provider_asn, p2p.customer, false), mk(c.provider_asn, asn, p2p.provider, true)]
            })
            .collect(),
        bfd_phase: (0..n)
            .map(|_| match c.detection {
                Detection::Bfd { interval_ns, .. } => {
                    [rng.random_range(0..interval_ns), rng.random_range(0..interval_ns)]
                }
                Detection::Hold => [0, 0],
            })
            .collect(),
        provider_rib: Rib::new(),
        customer_learned: vec![false; n],
        established_at: vec![None; n],
        routes_changed: true,
        onboarding,
        slices: slices.clone(),
        timeline: Vec::new(),
        egress: vec![Vec::new(); n],
        ret: vec![Vec::new(); n],
        links: vec![vec![(0, true)]; n],
        left_established: vec![[Vec::new(), Vec::new()]; n],
        provisioning,
    };
    cp.reroute();
    // Faults inside the simulated time (`--seconds` may have shortened it).
    let faults: Vec<_> = c.faults.iter().filter(|f| f.at_ns < sc.duration_ns).copied().collect();
    for f in &faults {
        cp.push(f.at_ns, Cp::Fault { site: f.site, kind: f.kind });
    }
    for i in 0..n {
        cp.event(i, PROVIDER, Event::ManualStart);
        cp.event(i, CUSTOMER, Event::ManualStart);
    }
    cp.run(sc.duration_ns);

    // Traffic: calls start once every site that came up has its routes in (a customer does not
    // place calls before its cross-connects route).
    let up_at = cp.egress.iter().filter_map(|tl| tl.iter().find(|(_, e)| e.is_some()).map(|x| x.0)).max().unwrap_or(0);
    let first_fault = faults.first().map_or(u64::MAX, |f| f.at_ns);
    let start_ns = up_at.min(first_fault).div_ceil(1_000_000) * 1_000_000;
    let mut sources: Vec<Source> = Vec::new();
    let mut homes: Vec<usize> = Vec::new();
    for (h, s) in sc.sites.iter().enumerate() {
        let slice = slices[h];
        sources.push(source(sc, s.calls, slice, sc.seed.wrapping_add(h as u64 * 0x9e37_79b9), start_ns));
        homes.push(h);
    }
    let stray = c.stray_prefix();
    if c.stray_calls > 0 {
        sources.push(source(sc, c.stray_calls, stray, sc.seed ^ 0x5742, start_ns));
        homes.push(0);
    }
    // One receiver per source: each site's calls (and the stray ones) are analyzed apart.
    let mut rxs: Vec<Receiver> = sources.iter().map(|s| Receiver::new(s.total_streams())).collect();
    // Frames each stream sent, whatever became of them: a call's loss is counted against these.
    let mut sent_per_stream: Vec<Vec<u32>> = sources.iter().map(|s| vec![0u32; s.total_streams()]).collect();
    let mut edges: Vec<Edge> = sc.sites.iter().map(|s| Edge::new(sc, s)).collect();
    let src_at = 14 + 4 * usize::from(sc.vlan.is_some()) + 12;
    let mut bufs: Vec<Vec<u8>> = sources.iter().map(|s| vec![0u8; s.frame_len()]).collect();
    let mut next: Vec<Option<(u64, usize)>> = sources.iter_mut().zip(&mut bufs).map(|(s, b)| s.next_into(b)).collect();
    let mut jitter = StdRng::seed_from_u64(sc.seed ^ 0x6a09_e667_f3bc_c908);
    let mut cursors = vec![0usize; n];
    let mut link_cursors = vec![0usize; n];
    // Frames lost into a failed link or for want of a route, per link-down fault and call of
    // the failed site; the rest (before any fault: BGP not up yet) counted apart.
    let downs: Vec<(u64, usize)> =
        faults.iter().filter(|f| f.kind == FaultKind::LinkDown).map(|f| (f.at_ns, f.site)).collect();
    let mut lost: Vec<Vec<u32>> = downs.iter().map(|&(_, site)| vec![0u32; sources[site].total_streams()]).collect();
    let mut unrouted = 0u64;
    let (mut acl_drops, mut frames) = (0u64, 0u64);
    // Per home site: offered, passed, policer drops, port drops.
    let mut home = vec![[0u64; 4]; n];
    // Per egress site, after the last traffic move: offered, dropped.
    let last_move = cp.egress.iter().flat_map(|tl| tl.iter().map(|x| x.0)).filter(|&t| t >= first_fault).max();
    let mut after = vec![[0u64; 2]; n];
    let accepted: Vec<Ipv4Net> = [c.customer_prefix].into_iter().chain(slices.iter().copied()).collect();
    let (mut offered_bytes, mut passed_bytes) = (vec![0u64; n], vec![0u64; n]);
    while let Some(k) = (0..sources.len()).filter(|&k| next[k].is_some()).min_by_key(|&k| next[k].map(|x| x.0)) {
        let (sent, len) = next[k].expect("chosen");
        let stream = sources[k].last_stream();
        sent_per_stream[k][stream] = sent_per_stream[k][stream].saturating_add(1);
        frames += 1;
        if frames % 65_536 == 0 {
            progress.fetch_add(65_536, Ordering::Relaxed);
        }
        let h = homes[k];
        let is_stray = k >= n;
        // Stray calls count only as ACL drops, not in their home site's figures.
        let mine = u64::from(!is_stray);
        let counters = &mut home[h];
        counters[0] += mine;
        let egress = at(&cp.egress[h], &mut cursors[h], sent);
        let frame = &bufs[k][..len];
        let fate = match egress {
            None => Fate::Blackholed,
            Some(e) if !at(&cp.links[e], &mut link_cursors[e], sent) => Fate::Blackholed,
            Some(e) => {
                // The provider's ACL: source inside what the customer announced, destination inside
                // the provider's own prefixes.
                let ip4 = |at: usize| Ipv4Addr::new(frame[at], frame[at + 1], frame[at + 2], frame[at + 3]);
                let (src, dst) = (ip4(src_at), ip4(src_at + 4));
                if !accepted.iter().any(|p| p.contains(&src)) || !c.provider_prefixes.iter().any(|p| p.contains(&dst)) {
                    Fate::Acl
                } else {
                    let bytes = u64::from(edges[e].accounted(len as u32));
                    offered_bytes[h] += bytes * mine;
                    let r = edges[e].offer(sent, len as u32);
                    if last_move.is_some_and(|m| sent >= m) {
                        after[e][0] += 1;
                        after[e][1] += u64::from(r.is_err());
                    }
                    match r {
                        Ok(t) => {
                            passed_bytes[h] += bytes * mine;
                            Fate::Passed(t)
                        }
                        Err(d) => Fate::Edge(d),
                    }
                }
            }
        };
        match fate {
            Fate::Passed(t_edge) => {
                counters[1] += mine;
                let v = if sc.variation_ns > 0 { jitter.random_range(0..=sc.variation_ns) } else { 0 };
                rxs[k].receive(frame, stream, sent, t_edge + sc.propagation_ns + v);
            }
            Fate::Blackholed => match downs.iter().rposition(|&(t, site)| t <= sent && site == h) {
                Some(f) if !is_stray => lost[f][stream] += 1,
                _ => unrouted += 1,
            },
            Fate::Acl => acl_drops += 1,
            Fate::Edge(EdgeDrop::Policer) => counters[2] += mine,
            Fate::Edge(EdgeDrop::Port) => counters[3] += mine,
        }
        next[k] = sources[k].next_into(&mut bufs[k]);
    }

    // Reports.
    // Each source's streams (the stray calls, if any, last), with what each call sent.
    let rows: Vec<(Vec<RtpStreamRow>, u64)> = rxs
        .iter_mut()
        .zip(&sent_per_stream)
        .map(|(r, sent)| rows_against_sent(std::slice::from_mut(r), sent))
        .collect();
    let secs = sc.duration_ns as f64 / 1e9;
    let sites: Vec<SiteReport> = sc
        .sites
        .iter()
        .enumerate()
        .map(|(h, s)| {
            let q = CallQuality::of(&rows[h].0, rows[h].1, sc);
            let [offered, passed, pol, port] = home[h];
            let dropped = offered - passed;
            let loss_pct = if offered == 0 { 0.0 } else { dropped as f64 * 100.0 / offered as f64 };
            SiteReport {
                name: s.name.clone(),
                location: s.location.to_string(),
                tier_bps: s.tier.rate_bps(),
                burst_bytes: s.burst_bytes,
                calls: s.calls,
                offered_frames: offered,
                passed_frames: passed,
                dropped_frames: dropped,
                policer_drops: pol,
                port_drops: port,
                loss_pct,
                offered_mbps: offered_bytes[h] as f64 * 8.0 / secs / 1e6,
                passed_mbps: passed_bytes[h] as f64 * 8.0 / secs / 1e6,
                mean_jitter_ms: q.mean_jitter_ms,
                delay_ms: Delay::of(&rxs[h].delays),
                mos_min: q.mos_min,
                mos_mean: q.mos_mean,
                calls_below_mos_target: q.below,
                ok: loss_pct <= sc.loss_target_pct && q.below == 0,
            }
        })
        .collect();

    let t = |ns: u64| ns as f64 / 1e9;
    let ptime_ns = u64::from(sc.ptime_ms) * 1_000_000;
    let mut failovers = Vec::new();
    for (fi, f) in faults.iter().filter(|f| f.kind == FaultKind::LinkDown).enumerate() {
        let h = f.site;
        let detected = |side: usize| cp.left_established[h][side].iter().find(|(ts, _)| *ts >= f.at_ns).cloned();
        let moved = cp.egress[h].iter().find(|(ts, e)| *ts >= f.at_ns && *e != Some(h)).copied();
        let ret_moved = cp.ret[h].iter().find(|(ts, e)| *ts >= f.at_ns && *e != Some(h)).copied();
        let per_call: Vec<u64> = lost[fi].iter().map(|&x| u64::from(x)).collect();
        let outage = moved.map(|(ts, _)| ts - f.at_ns);
        failovers.push(FailoverRow {
            site: sc.sites[h].name.clone(),
            down_s: t(f.at_ns),
            provider_detected_s: detected(PROVIDER).map(|d| t(d.0)),
            customer_detected_s: detected(CUSTOMER).map(|d| t(d.0)),
            detected_by: detected(PROVIDER).or(detected(CUSTOMER)).map_or(DetectedBy::NotDetected, |d| d.1),
            traffic_moved_s: moved.map(|m| t(m.0)),
            return_traffic_moved_s: ret_moved.map(|m| t(m.0)),
            moved_to: moved.and_then(|m| m.1).map(|s| sc.sites[s].name.clone()),
            outage_s: outage.map(t),
            lost_frames: per_call.iter().sum(),
            lost_per_call_min: per_call.iter().copied().min().unwrap_or(0),
            lost_per_call_max: per_call.iter().copied().max().unwrap_or(0),
            lost_per_call_mean: if per_call.is_empty() {
                0.0
            } else {
                per_call.iter().sum::<u64>() as f64 / per_call.len() as f64
            },
            expected_per_call: outage.map_or(0.0, |o| o as f64 / ptime_ns as f64),
        });
    }
    let survivors = match last_move {
        Some(m) => (0..n)
            .filter(|&e| after[e][0] > 0)
            .map(|e| {
                let loss = after[e][1] as f64 * 100.0 / after[e][0] as f64;
                SurvivorRow {
                    site: sc.sites[e].name.clone(),
                    tier_bps: sc.sites[e].tier.rate_bps(),
                    from_s: t(m),
                    offered_frames: after[e][0],
                    dropped_frames: after[e][1],
                    loss_pct: loss,
                    carried: loss <= sc.loss_target_pct,
                }
            })
            .collect(),
        None => Vec::new(),
    };
    let onboarding = cp
        .onboarding
        .iter()
        .enumerate()
        .map(|(i, o)| OnboardingRow {
            site: sc.sites[i].name.clone(),
            loa: o.loa.clone(),
            p2p: o.p2p,
            customer_asn: o.customer_asn,
            asn_assigned: o.asn_assigned,
            announces: vec![slices[i].to_string(), c.customer_prefix.to_string()],
            established_s: cp.established_at[i].map(t),
        })
        .collect();
    let report = ControlReport {
        onboarding,
        detection: match c.detection {
            Detection::Hold => format!("hold timer {} s (keepalive every {} s)", c.hold_s, f64::from(c.hold_s) / 3.0),
            Detection::Bfd { interval_ns, multiplier } => format!("BFD {} ms x {multiplier}", interval_ns / 1_000_000),
        },
        timeline: std::mem::take(&mut cp.timeline),
        failovers,
        // The sites' calls (not the stray ones, which the ACL is meant to drop); a call none of
        // whose frames arrived counts as below.
        calls_below_mos_3_6: rows[..n].iter().map(|(r, missing)| calls_below(r, *missing, MOS_DEGRADED)).sum(),
        survivors,
        acl_drops,
        traffic_start_s: t(start_ns),
        unrouted_frames: unrouted,
        single_point_of_failure: n == 1,
    };
    (sites, report, frames)
}

fn source(sc: &Scenario, calls: u64, customer: Ipv4Net, seed: u64, start_ns: u64) -> Source {
    let plan = CallPlan {
        calls,
        codec: sc.codec,
        ptime_ms: sc.ptime_ms,
        vlan: sc.vlan,
        phase: if sc.sync { Phase::Sync } else { Phase::Random },
        both_directions: false,
        seed,
        start_ns,
        duration_ns: sc.duration_ns - start_ns,
        addresses: AddressPlan { customer: (customer.network(), customer.prefix_len()), ..AddressPlan::default() },
        silence_suppression: sc.silence_suppression,
        arrivals: match sc.mean_hold_ns {
            Some(mean_hold_ns) => Arrivals::Poisson { mean_hold_ns },
            None => Arrivals::Fixed,
        },
    };
    Source::new(&plan).expect("scenario checked: calls, codec and ptime are valid")
}

/// The verdict of a scenario with a control plane.
pub fn verdict(sites: &[SiteReport], c: &ControlReport, loss_target_pct: f64, mos_target: f64) -> String {
    let bad: Vec<String> = sites
        .iter()
        .filter(|s| !s.ok)
        .map(|s| format!("{}'s calls lose {:.2} % (lowest MOS {})", s.name, s.loss_pct, mos_text(s.mos_min)))
        .collect();
    let mut v = if bad.is_empty() {
        format!("OK: every site's calls within {loss_target_pct} % loss and MOS {mos_target} or better")
    } else {
        format!("TARGETS MISSED: {}", bad.join("; "))
    };
    if c.single_point_of_failure {
        v.push_str(". Single site: a single point of failure (the provider recommends two locations)");
    }
    for f in &c.failovers {
        match (f.outage_s, &f.moved_to) {
            (Some(o), Some(to)) => v.push_str(&format!(
                ". {} failed at {:.1} s: detected by {} and traffic moved to {to} after {o:.3} s, {} frames lost ({:.1} per call)",
                f.site, f.down_s, f.detected_by, f.lost_frames, f.lost_per_call_mean
            )),
            _ => v.push_str(&format!(". {} failed at {:.1} s and its traffic never moved", f.site, f.down_s)),
        }
    }
    for s in &c.survivors {
        if s.carried {
            v.push_str(&format!(". {} carried the whole load afterwards ({:.2} % loss)", s.site, s.loss_pct));
        } else {
            v.push_str(&format!(
                ". {} could NOT carry the whole load: {:.2} % loss (target {loss_target_pct} %)",
                s.site, s.loss_pct
            ));
        }
    }
    if c.acl_drops > 0 {
        v.push_str(&format!(". The provider's ACL dropped {} frames from unannounced addresses", c.acl_drops));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use xconnect_trafgen::BandwidthLayer;

    fn run(text: &str, edit: &[(&str, &str)]) -> (Scenario, Vec<SiteReport>, ControlReport) {
        let mut t = text.to_string();
        for (a, b) in edit {
            assert!(t.contains(a), "{a}");
            t = t.replace(a, b);
        }
        let sc = Scenario::parse(&t, "test").unwrap_or_else(|e| panic!("{e}"));
        let (sites, c, _) = simulate_control(&sc, &AtomicU64::new(0));
        (sc, sites, c)
    }

    const HOLD: &str = include_str!("../../../fixtures/scenarios/failover-hold.toml");
    const BFD: &str = include_str!("../../../fixtures/scenarios/failover-bfd.toml");
    const UNDERSIZED: &str = include_str!("../../../fixtures/scenarios/undersized-pair.toml");
    const SINGLE: &str = include_str!("../../../fixtures/scenarios/single-site.toml");

    /// Loss during convergence = offered rate × outage window, within one packet per call.
    fn check_convergence_loss(f: &FailoverRow, calls: u64) {
        assert!(f.lost_per_call_min as f64 >= f.expected_per_call - 1.0, "{f:?}");
        assert!(f.lost_per_call_max as f64 <= f.expected_per_call + 1.0, "{f:?}");
        assert!((f.lost_frames as f64 - f.expected_per_call * calls as f64).abs() <= calls as f64, "{f:?}");
    }

    #[test]
    fn hold_timer_detection_within_one_keepalive_of_the_hold_time() {
        for hold in [9u16, 30, 90] {
            let (sc, _, c) =
                run(HOLD, &[("hold_s = 9", &format!("hold_s = {hold}")), ("duration_s = 60", "duration_s = 150")]);
            let f = &c.failovers[0];
            assert_eq!(f.detected_by, DetectedBy::HoldTimer);
            let keepalive = f64::from(hold) / 3.0;
            let prop = sc.propagation_ns as f64 / 1e9;
            for d in [f.provider_detected_s.unwrap(), f.customer_detected_s.unwrap()] {
                let took = d - f.down_s;
                assert!(
                    took <= f64::from(hold) + prop + 1e-9 && took >= f64::from(hold) - keepalive,
                    "hold {hold}: {took}"
                );
            }
            assert_eq!(f.moved_to.as_deref(), Some("san-jose"));
            check_convergence_loss(f, 500);
            assert!(c.survivors[0].carried, "{:?}", c.survivors);
        }
    }

    #[test]
    fn bfd_detection_within_one_interval_of_interval_times_multiplier() {
        for (interval, mult) in [(300u64, 3u32), (50, 3), (1000, 5)] {
            let (sc, _, c) = run(
                BFD,
                &[
                    ("bfd_interval_ms = 300", &format!("bfd_interval_ms = {interval}")),
                    ("bfd_multiplier = 3", &format!("bfd_multiplier = {mult}")),
                ],
            );
            let f = &c.failovers[0];
            assert_eq!(f.detected_by, DetectedBy::Bfd);
            let i = interval as f64 / 1e3;
            let prop = sc.propagation_ns as f64 / 1e9;
            for d in [f.provider_detected_s.unwrap(), f.customer_detected_s.unwrap()] {
                let took = d - f.down_s;
                let want = i * f64::from(mult);
                assert!(took <= want + 1e-9 && took >= want - i - prop, "{interval} x {mult}: {took}");
            }
            check_convergence_loss(f, 500);
        }
    }

    #[test]
    fn undersized_survivor_shows_the_policer_loss_the_arithmetic_predicts() {
        let (sc, _, c) = run(UNDERSIZED, &[]);
        let s = &c.survivors[0];
        assert_eq!(s.site, "singapore");
        assert!(!s.carried);
        // 1600 calls of Ethernet frames with FCS (MEF accounting) into 100 Mbps.
        let offered = sc.codec.stream_bps(sc.ptime_ms, BandwidthLayer::Frame, false) * 1600.0;
        let expected = (1.0 - 100e6 / offered) * 100.0;
        assert!((s.loss_pct - expected).abs() < 0.5, "{} vs {expected}", s.loss_pct);
        assert!(c.calls_below_mos_3_6 > 0);
        check_convergence_loss(&c.failovers[0], 800);
    }

    #[test]
    fn single_site_is_flagged_and_its_asn_assigned() {
        let (_, sites, c) = run(SINGLE, &[]);
        assert!(c.single_point_of_failure);
        assert!(sites[0].ok);
        assert!(c.failovers.is_empty() && c.survivors.is_empty());
        let o = &c.onboarding[0];
        assert_eq!((o.customer_asn, o.asn_assigned), (Some(65000), true));
        assert!(o.established_s.is_some());
        assert_eq!(o.p2p.unwrap().subnet.to_string(), "169.254.200.0/30");
    }

    #[test]
    fn stray_calls_are_dropped_by_the_acl() {
        let (sc, sites, c) = run(SINGLE, &[("hold_s = 9", "hold_s = 9\nstray_calls = 10")]);
        let frames_per_call =
            (sc.duration_ns - (c.traffic_start_s * 1e9) as u64) / (u64::from(sc.ptime_ms) * 1_000_000);
        assert!((c.acl_drops as i64 - 10 * frames_per_call as i64).abs() <= 10, "{}", c.acl_drops);
        assert!(sites[0].ok, "the customer's own calls are unaffected");
    }

    #[test]
    fn link_up_and_bgp_reset_bring_traffic_back() {
        let events = "[[events]]\nat = \"30s\"\nsite = \"ashburn\"\nkind = \"link-down\"\n\n[[events]]\nat = \"35s\"\nsite = \"ashburn\"\nkind = \"link-up\"\n\n[[events]]\nat = \"50s\"\nsite = \"san-jose\"\nkind = \"bgp-reset\"\n";
        let i = BFD.find("[[events]]").unwrap();
        let text = format!("{}{events}", &BFD[..i]);
        let (_, _, c) = run(&text, &[]);
        let ups: Vec<&TimelineRow> = c
            .timeline
            .iter()
            .filter(|t| t.event == TimelineEvent::State && t.detail.ends_with("-> Established") && t.t_s > 1.0)
            .collect();
        // Ashburn's pair comes back after the link does (within ConnectRetry), san-jose's after the reset.
        assert!(ups.iter().any(|t| t.site == "ashburn" && t.t_s > 35.0 && t.t_s < 35.0 + 5.0 + 0.1), "{ups:?}");
        assert!(ups.iter().any(|t| t.site == "san-jose" && t.t_s > 50.0 && t.t_s < 50.0 + 5.0 + 0.1), "{ups:?}");
        assert!(c
            .timeline
            .iter()
            .any(|t| t.event == TimelineEvent::NotificationReceived && t.detail.contains("Administrative Reset")));
        let back = c
            .timeline
            .iter()
            .filter(|t| {
                t.event == TimelineEvent::BestPath
                    && t.detail == "customer -> provider traffic of ashburn calls now via ashburn"
            })
            .count();
        assert_eq!(back, 2, "at start and after the link came back: {:#?}", c.timeline);
    }
}
