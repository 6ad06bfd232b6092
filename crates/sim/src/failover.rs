//! The control plane in virtual time, and the traffic that follows it (scenarios with
//! `[control]`).
//!
//! 1. Onboarding per site (crates/interconnect): LOA, link up, point-to-point subnet and, for a
//!    customer without one, a private ASN.
//! 2. Routers and sessions, every session end the real [`Peer`] of crates/bgp (the FSM, the
//!    import policy, the Adj-RIBs, max-prefix) that `xconnect bgp` runs over TCP:
//!    - per site an eBGP session between the customer's border router (active) and the
//!      provider edge (passive) over the site's link, with the link's propagation delay. Each
//!      customer router announces the customer's aggregate and its site's slice of it (site
//!      i's calls come from slice i); the provider announces its prefixes. The provider
//!      closes a session whose customer announces more than `max_prefixes` (Cease/1);
//!    - between every two customer sites an iBGP session over the customer's backbone (same
//!      delay; the backbone does not fail): each router passes on what it learnt over eBGP,
//!      next hop unchanged, and never what it learnt over iBGP.
//! 3. RIBs and forwarding: each customer router has a Loc-RIB of what its sessions accepted
//!    (RFC 4271 §9.1.2.2: its own eBGP route over an iBGP one, ties by the lower BGP
//!    identifier); a frame leaves by the longest match for its destination, at the site whose
//!    provider edge is the route's next hop. The provider's network is one Loc-RIB across the
//!    sites' sessions (its own iBGP is not simulated); provider → customer frames go to the
//!    site of the longest match for the customer address. ECMP is off.
//! 4. Faults (`[[events]]`): a link that goes down carries nothing (so keepalives stop and a
//!    NOTIFICATION cannot arrive); detection is the hold timer, or BFD: each side runs
//!    `xconnect_bfd`'s session (the one `xconnect bgp --bfd` runs) in virtual time, its
//!    packets crossing the link; `bgp-reset` is the provider clearing the session.
//! 5. Traffic: each site's calls (spread over the provider's prefixes) go customer → provider
//!    out of the site their router chose at the frame's send time, through that site's port
//!    and policer; a frame sent into a failed link before the routers noticed is lost
//!    (convergence loss, counted per call); a frame from an address the customer never
//!    announced is dropped by the provider's ACL.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ipnet::Ipv4Net;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use xconnect_bgp::fsm::{Event, SessionConfig, State};
use xconnect_bgp::peer::{Peer, PeerAction};
use xconnect_bgp::policy::ImportPolicy;
use xconnect_bgp::rib::{Rib, Route};
use xconnect_bgp::wire::{Cease, Notification, Origin, PathAttributes};
use xconnect_interconnect::onboarding::{Loa, Onboarding, OnboardingEvent, P2pLink, P2pPool, Provisioning};
use xconnect_time::Nanos;
use xconnect_trafgen::{AddressPlan, Frames, Mix, Source};

use crate::scenario::{Control, Detection, FaultKind, Scenario};
use crate::series::{Bins, Calls, Link, LinkSeries, Loss, Outcome};
use crate::site::{
    delay_histogram, leg_scores, mos_text, rows_against_sent, worse_legs, Counts, Direction, Edge, EdgeDrop, Leg,
    Receiver, Seen, SiteReport,
};
use xconnect_dataplane::rtp::sort_rows;

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
    /// Provider → customer: return_traffic_moved − down, s.
    pub return_outage_s: Option<f64>,
    /// Provider → customer frames to the site's calls lost to the outage.
    pub return_lost_frames: u64,
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
    /// Frames it was offered from then on, both directions.
    pub offered_frames: u64,
    /// Of those, dropped by its policer, shaper or ports.
    pub dropped_frames: u64,
    /// Percent.
    pub loss_pct: f64,
    /// Customer → provider alone, percent.
    pub to_provider_loss_pct: f64,
    /// Provider → customer alone, percent.
    pub to_customer_loss_pct: f64,
    /// Whether it carried the whole load within the loss target, each direction.
    pub carried: bool,
}

/// The control plane's own frames (BGP segments, BFD packets) in one direction, charged
/// against the tier like any frame.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ControlFrames {
    /// "to_provider" or "to_customer".
    pub direction: &'static str,
    /// Frames sent over a working link.
    pub frames: u64,
    /// Of those, dropped by the tier's limit or a port (the simulated sessions do not see
    /// these losses: their TCP is lossless).
    pub dropped: u64,
}

/// A site's eBGP session and what protects it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionProtection {
    /// The site.
    pub site: String,
    /// TCP-MD5 (its 20-byte option is in every segment charged to the tier).
    pub tcp_md5: bool,
    /// GTSM.
    pub gtsm: bool,
    /// How a failure is noticed: "hold timer 9 s (...)" or "BFD 300 ms x 3".
    pub detection: String,
}

/// The control-plane part of a simulation report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ControlReport {
    /// Onboarding per site.
    pub onboarding: Vec<OnboardingRow>,
    /// "hold timer 90 s" or "BFD 300 ms × 3".
    pub detection: String,
    /// Each site's eBGP session and what protects it.
    pub sessions: Vec<SessionProtection>,
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
    /// The control plane's frames in each direction.
    pub control_frames: Vec<ControlFrames>,
    /// Only one site: a single point of failure.
    pub single_point_of_failure: bool,
}

/// The two ends of a site's eBGP session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The customer's border router at the site (connects).
    Customer,
    /// The provider edge at the site (listens).
    Provider,
}

impl Side {
    fn index(self) -> usize {
        self as usize
    }
}

/// One end of a BGP session in the simulation: the real [`Peer`] (FSM, import policy,
/// Adj-RIBs), the router it belongs to and the wire it crosses.
struct End {
    peer: Peer,
    /// The customer router (its site) this end belongs to; `None`: the provider's network.
    router: Option<usize>,
    /// The site whose cross-connect carries the session; `None`: the customer's backbone
    /// (iBGP between its sites), which does not fail.
    link: Option<usize>,
    /// The end at the other side.
    remote: usize,
    /// For a cross-connect's session: its site and side.
    ebgp: Option<(usize, Side)>,
}

/// The end of `site`'s eBGP session on `side` (ends 2·site and 2·site + 1).
fn end_of(site: usize, side: Side) -> usize {
    2 * site + side.index()
}

#[derive(Debug)]
enum Cp {
    Deliver {
        to: usize,
        bytes: Vec<u8>,
    },
    Connect {
        end: usize,
    },
    Fails {
        to: usize,
    },
    Fault {
        site: usize,
        kind: FaultKind,
    },
    /// A BFD control packet arriving at `to`'s end of `site`'s link.
    Bfd {
        site: usize,
        to: Side,
        packet: [u8; xconnect_bfd::packet::LEN],
    },
}

/// What became of a frame.
#[derive(Debug, Clone, Copy)]
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

/// A group of calls that the routers treat alike: from one customer prefix (its home site's
/// slice, or the stray prefix) to one provider prefix. Looked up by one address of each.
#[derive(Debug, Clone, Copy)]
struct Flow {
    home: usize,
    customer: Ipv4Net,
    provider: Ipv4Net,
}

impl Flow {
    fn host(p: Ipv4Net) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(p.network()).saturating_add(u32::from(p.prefix_len() < 31)))
    }
}

struct ControlPlane<'a> {
    sc: &'a Scenario,
    c: &'a Control,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Cp>,
    ends: Vec<End>,
    /// Per site with BFD: the customer's and the provider's session ([`Side::index`]), the
    /// same state machine `xconnect bgp --bfd` runs, here in virtual time.
    bfd: Vec<[xconnect_bfd::Session; 2]>,
    /// BFD packets put on a cross-connect: (time, site, direction).
    bfd_sent: Vec<(u64, usize, Direction)>,
    /// The provider's network: routes from every site's session (session id = end index).
    provider_rib: Rib,
    /// Each customer site's border router: routes from its eBGP session and from the other
    /// sites over iBGP (session id = end index).
    customer_ribs: Vec<Rib>,
    onboarding: Vec<Onboarding>,
    established_at: Vec<Option<u64>>,
    /// Whether the RIBs changed since the routes were last chosen.
    routes_changed: bool,
    timeline: Vec<TimelineRow>,
    flows: Vec<Flow>,
    /// Per flow: the site its customer → provider frames leave by (None: no route).
    egress: Vec<Timeline<Option<usize>>>,
    /// Per flow: the site the provider sends its provider → customer frames to.
    ret: Vec<Timeline<Option<usize>>>,
    /// Per site: link state.
    links: Vec<Timeline<bool>>,
    /// Per site, when each side ([`Side::index`]) left Established, and why.
    left_established: Vec<[Vec<(u64, DetectedBy)>; 2]>,
    /// BGP messages put on a cross-connect: (time, site, direction, bytes).
    segments: Vec<(u64, usize, Direction, usize)>,
    provisioning: Provisioning,
}

impl<'a> ControlPlane<'a> {
    /// The eBGP sessions (a pair per site), then an iBGP session between every two customer
    /// sites (the lower-numbered site connects), every end a [`Peer`] with its import policy
    /// and what it advertises.
    fn new(
        sc: &'a Scenario,
        c: &'a Control,
        onboarding: Vec<Onboarding>,
        provisioning: Provisioning,
        flows: Vec<Flow>,
    ) -> Self {
        let n = sc.sites.len();
        let slices = c.slices(n);
        let mut rng = StdRng::seed_from_u64(sc.seed ^ 0xbfd0);
        let cfg = |local, peer, id, passive| SessionConfig {
            hold_time: c.hold_s,
            connect_retry: c.connect_retry,
            passive,
            ..SessionConfig::new(local, peer, id)
        };
        let originated = Arc::new(PathAttributes { origin: Some(Origin::Igp), ..PathAttributes::default() });
        let mut ends = Vec::new();
        for (site, o) in onboarding.iter().enumerate() {
            let p2p = o.p2p.expect("addressed before BGP");
            let asn = o.customer_asn.expect("addressed before BGP");
            let mut customer = Peer::new(
                cfg(asn, c.provider_asn, p2p.customer, false),
                ImportPolicy::Customer { provider_prefixes: c.provider_prefixes.clone() },
            );
            customer.set_local_addr(p2p.customer);
            customer.announce(Nanos(0), &[slices[site], c.customer_prefix], originated.clone(), &mut Vec::new());
            let mut provider = Peer::new(
                cfg(c.provider_asn, asn, p2p.provider, true),
                ImportPolicy::provider_with_limit(asn, c.max_prefixes),
            );
            provider.set_local_addr(p2p.provider);
            provider.set_max_prefix_restart(c.max_prefixes_restart);
            provider.announce(Nanos(0), &c.provider_prefixes, originated.clone(), &mut Vec::new());
            let (cust, prov) = (end_of(site, Side::Customer), end_of(site, Side::Provider));
            ends.push(End {
                peer: customer,
                router: Some(site),
                link: Some(site),
                remote: prov,
                ebgp: Some((site, Side::Customer)),
            });
            ends.push(End {
                peer: provider,
                router: None,
                link: Some(site),
                remote: cust,
                ebgp: Some((site, Side::Provider)),
            });
        }
        for j in 0..n {
            for k in j + 1..n {
                let (a, b) = (&onboarding[j], &onboarding[k]);
                let asn = a.customer_asn.expect("addressed before BGP");
                let (id_j, id_k) = (a.p2p.expect("addressed").customer, b.p2p.expect("addressed").customer);
                let mut pj = Peer::new(cfg(asn, asn, id_j, false), ImportPolicy::Internal);
                pj.set_local_addr(id_j);
                let mut pk = Peer::new(cfg(asn, asn, id_k, true), ImportPolicy::Internal);
                pk.set_local_addr(id_k);
                let i = ends.len();
                ends.push(End { peer: pj, router: Some(j), link: None, remote: i + 1, ebgp: None });
                ends.push(End { peer: pk, router: Some(k), link: None, remote: i, ebgp: None });
            }
        }
        let nflows = flows.len();
        ControlPlane {
            sc,
            c,
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            ends,
            // Each site's two sessions (every site or none has BFD), each side starting at its
            // own phase, as two routers would.
            bfd: sc
                .sites
                .iter()
                .enumerate()
                .filter_map(|(site, s)| {
                    let timers = s.bfd?;
                    Some([0, 1].map(|side| {
                        let phase = Nanos(rng.random_range(0..timers.tx.0));
                        xconnect_bfd::Session::new(timers, (2 * site + side + 1) as u32, phase)
                    }))
                })
                .collect(),
            bfd_sent: Vec::new(),
            provider_rib: Rib::new(),
            customer_ribs: vec![Rib::new(); n],
            established_at: vec![None; n],
            routes_changed: true,
            onboarding,
            timeline: Vec::new(),
            flows,
            egress: vec![Vec::new(); nflows],
            ret: vec![Vec::new(); nflows],
            links: vec![vec![(0, true)]; n],
            left_established: vec![[Vec::new(), Vec::new()]; n],
            segments: Vec::new(),
            provisioning,
        }
    }

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

    /// One-way delay of a session's wire: the cross-connect's propagation (the customer's
    /// backbone between sites is given the same).
    fn delay(&self) -> u64 {
        self.sc.propagation.0
    }

    fn link_up(&self, site: usize) -> bool {
        self.links[site].last().is_some_and(|&(_, up)| up)
    }

    /// Whether the wire under `end` carries anything now.
    fn carried(&self, end: usize) -> bool {
        self.ends[end].link.is_none_or(|s| self.link_up(s))
    }

    /// The site an end's timeline lines are filed under, and who speaks.
    fn who(&self, end: usize) -> (usize, String) {
        let e = &self.ends[end];
        match (e.ebgp, e.router) {
            (Some((site, Side::Customer)), _) => (site, "customer".into()),
            (Some((site, Side::Provider)), _) => (site, "provider".into()),
            (None, router) => {
                let site = router.expect("iBGP ends belong to customer routers");
                let other = self.ends[e.remote].router.expect("iBGP ends belong to customer routers");
                (site, format!("customer iBGP with {}", self.name(other)))
            }
        }
    }

    fn event(&mut self, end: usize, ev: Event<'_>) {
        let mut out = Vec::new();
        self.ends[end].peer.handle(Nanos(self.now), ev, &mut out);
        self.apply(end, out);
    }

    fn apply(&mut self, end: usize, out: Vec<PeerAction>) {
        let (site, who) = self.who(end);
        let remote = self.ends[end].remote;
        // A NOTIFICATION comes in the same batch of actions as the state change it causes.
        let mut cause = None;
        for a in out {
            match a {
                PeerAction::Connect => {
                    let t = self.now + 2 * self.delay();
                    self.push(t, Cp::Connect { end });
                }
                PeerAction::Send(bytes) => {
                    if let (Some((site, side)), true) = (self.ends[end].ebgp, self.carried(end)) {
                        let dir = if side == Side::Customer { Direction::ToProvider } else { Direction::ToCustomer };
                        self.segments.push((self.now, site, dir, bytes.len()));
                    }
                    if self.carried(end) {
                        let t = self.now + self.delay();
                        self.push(t, Cp::Deliver { to: remote, bytes });
                    }
                }
                PeerAction::Disconnect => {
                    if self.carried(end) {
                        let t = self.now + self.delay();
                        self.push(t, Cp::Fails { to: remote });
                    }
                }
                PeerAction::StateChange { from, to } => {
                    self.log(site, TimelineEvent::State, format!("{who} {from} -> {to}"));
                    let ebgp = self.ends[end].ebgp;
                    if to == State::Established && ebgp == Some((site, Side::Customer)) {
                        self.established(site);
                    }
                    if let (State::Established, Some((_, side))) = (from, ebgp) {
                        let how = cause.take().unwrap_or(DetectedBy::ConnectionClosed);
                        self.left_established[site][side.index()].push((self.now, how));
                    }
                }
                PeerAction::Accepted { prefix, attrs } => self.install(end, prefix, Some(attrs)),
                PeerAction::Withdrawn { prefix } => self.install(end, prefix, None),
                PeerAction::Rejected { prefix, reason } => {
                    self.log(site, TimelineEvent::Rejected, format!("{who}: {prefix}: {reason}"))
                }
                PeerAction::NotificationSent(n, reason) => {
                    self.log(site, TimelineEvent::NotificationSent, format!("{who}: {n} ({reason})"));
                    cause = Some(if n.is_hold_timer_expired() {
                        DetectedBy::HoldTimer
                    } else if n.is_cease(Cease::BfdDown) {
                        DetectedBy::Bfd
                    } else {
                        DetectedBy::SentNotification(n.meaning())
                    });
                }
                PeerAction::NotificationReceived(n) => {
                    self.log(site, TimelineEvent::NotificationReceived, format!("{who}: {n}"));
                    cause = Some(DetectedBy::ReceivedNotification(n));
                }
                // Simulated peers send well-formed UPDATEs; what was sent is in the RIBs. They
                // announce graceful restart for no address family, so none keeps stale routes.
                PeerAction::OpenReceived(_)
                | PeerAction::AttributeIssue(_)
                | PeerAction::Sent { .. }
                | PeerAction::Stale { .. }
                | PeerAction::RestartDone { .. } => {}
            }
        }
        self.reroute();
    }

    /// The customer's session at `site` is up for the first time: onboarding is complete.
    fn established(&mut self, site: usize) {
        if self.established_at[site].is_none() {
            self.established_at[site] = Some(self.now);
            self.onboarding[site]
                .handle(OnboardingEvent::BgpEstablished, &mut self.provisioning)
                .expect("addressed before BGP");
        }
    }

    /// The site whose provider edge owns `addr` (a route's NEXT_HOP): where the traffic exits.
    fn exit_of(&self, next_hop: Option<Ipv4Addr>) -> Option<usize> {
        let nh = next_hop?;
        self.onboarding.iter().position(|o| o.p2p.is_some_and(|p| p.subnet.contains(&nh)))
    }

    /// A route from `end`'s peer entered (`Some`) or left (`None`) its router's Adj-RIB-In:
    /// the router's Loc-RIB follows; a customer router tells its other sites over iBGP what
    /// it learned over eBGP (never what it learned over iBGP).
    fn install(&mut self, end: usize, prefix: Ipv4Net, attrs: Option<Arc<PathAttributes>>) {
        self.routes_changed = true;
        let e = &self.ends[end];
        let session = end as u32;
        let router = e.router;
        let withdrawal = attrs.is_none();
        let peer_id = self.ends[e.remote].peer.session().config().router_id;
        let route = attrs.map(|attrs| Route { session, ebgp: e.peer.is_ebgp(), attrs });
        let rib = match router {
            Some(r) => &mut self.customer_ribs[r],
            None => &mut self.provider_rib,
        };
        let change = match route {
            Some(route) => rib.announce(prefix, route, peer_id),
            None => rib.withdraw(session, prefix),
        };
        let Some(change) = change else { return };
        let (site, _) = self.who(end);
        match router {
            None => {
                if withdrawal {
                    let to = match change.new {
                        Some(s) => self.ends[s as usize].ebgp.map_or("nowhere".into(), |(s, _)| self.name(s)),
                        None => "nowhere".into(),
                    };
                    self.log(site, TimelineEvent::Withdraw, format!("provider RIB: {prefix} now via {to}"));
                }
            }
            Some(r) => {
                let best = self.customer_ribs[r].best(prefix).cloned();
                if withdrawal {
                    let to = best.as_ref().and_then(|b| self.exit_of(b.attrs.next_hop));
                    let to = to.map_or("nowhere".into(), |s| self.name(s));
                    let at = self.name(r);
                    self.log(site, TimelineEvent::Withdraw, format!("customer router at {at}: {prefix} now via {to}"));
                }
                let ibgp: Vec<usize> = (0..self.ends.len())
                    .filter(|&i| self.ends[i].router == Some(r) && self.ends[i].ebgp.is_none())
                    .collect();
                for i in ibgp {
                    let mut out = Vec::new();
                    let now = Nanos(self.now);
                    match &best {
                        Some(b) if b.ebgp => self.ends[i].peer.announce(now, &[prefix], b.attrs.clone(), &mut out),
                        _ => self.ends[i].peer.withdraw(now, &[prefix], &mut out),
                    }
                    self.apply(i, out);
                }
            }
        }
    }

    /// Recomputes both directions' choices after the RIBs changed, and records changes.
    fn reroute(&mut self) {
        if !std::mem::take(&mut self.routes_changed) {
            return;
        }
        let many = self.c.provider_prefixes.len() > 1;
        for f in 0..self.flows.len() {
            let Flow { home, customer, provider } = self.flows[f];
            // Customer → provider: the home site's router, longest match, exit by next hop.
            let e =
                self.customer_ribs[home].lookup(Flow::host(provider)).and_then(|(_, r)| self.exit_of(r.attrs.next_hop));
            if self.egress[f].last().map(|x| x.1) != Some(e) {
                if !self.egress[f].is_empty() {
                    let to = e.map_or("no route".into(), |s| self.name(s));
                    let dst = if many { format!(" to {provider}") } else { String::new() };
                    let detail = format!("customer -> provider traffic of {} calls{dst} now via {to}", self.name(home));
                    self.log(home, TimelineEvent::BestPath, detail);
                }
                self.egress[f].push((self.now, e));
            }
            // Provider → customer: the provider's RIB, longest match on the calls' prefix.
            let r = self
                .provider_rib
                .lookup(Flow::host(customer))
                .and_then(|(_, r)| self.ends[r.session as usize].ebgp.map(|(s, _)| s));
            if self.ret[f].last().map(|x| x.1) != Some(r) {
                // One line per customer prefix, not per provider prefix it calls.
                let first = self.flows[..f].iter().all(|g| g.customer != customer);
                if !self.ret[f].is_empty() && first {
                    let to = r.map_or("no route".into(), |s| self.name(s));
                    self.log(home, TimelineEvent::BestPath, format!("provider -> {customer} now via {to}"));
                }
                self.ret[f].push((self.now, r));
            }
        }
    }

    /// Ends `side`'s session at `site` with `n` (sent if the link still carries it).
    fn tear_down(&mut self, site: usize, side: Side, n: Notification, reason: &str) {
        let end = end_of(site, side);
        let mut out = Vec::new();
        self.ends[end].peer.notify_and_reset(Nanos(self.now), n, reason.into(), &mut out);
        self.apply(end, out);
    }

    /// What one side's BFD session asks: its packets cross the link (lost while it is down),
    /// and when it leaves Up the BGP session on that side goes down with it.
    fn bfd_actions(&mut self, site: usize, side: Side, out: Vec<xconnect_bfd::Action>) {
        for a in out {
            match a {
                xconnect_bfd::Action::Send(packet) => {
                    let (to, dir) = match side {
                        Side::Customer => (Side::Provider, Direction::ToProvider),
                        Side::Provider => (Side::Customer, Direction::ToCustomer),
                    };
                    self.bfd_sent.push((self.now, site, dir));
                    if self.link_up(site) {
                        self.push(self.now + self.delay(), Cp::Bfd { site, to, packet });
                    }
                }
                xconnect_bfd::Action::StateChange { from: xconnect_bfd::State::Up, .. } => {
                    if self.ends[end_of(site, side)].peer.state() == State::Established {
                        let who = if side == Side::Customer { "customer" } else { "provider" };
                        self.log(site, TimelineEvent::Detected, format!("{who} side: BFD down"));
                        self.tear_down(site, side, Notification::cease(Cease::BfdDown), "BFD down");
                    }
                }
                xconnect_bfd::Action::StateChange { .. } => {}
            }
        }
    }

    fn fault(&mut self, site: usize, kind: FaultKind) {
        self.log(site, kind.into(), String::new());
        match kind {
            FaultKind::LinkDown => {
                self.links[site].push((self.now, false));
            }
            FaultKind::LinkUp => {
                self.links[site].push((self.now, true));
            }
            FaultKind::BgpReset => {
                self.tear_down(site, Side::Provider, Notification::cease(Cease::AdminReset), "administrative reset");
                self.event(end_of(site, Side::Provider), Event::ManualStart);
            }
        }
    }

    fn run(&mut self, end_ns: u64) {
        loop {
            let timer =
                self.ends.iter().enumerate().filter_map(|(i, e)| e.peer.next_deadline().map(|d| (d.0, i))).min();
            let bfd = (0..self.bfd.len())
                .flat_map(|site| [Side::Customer, Side::Provider].map(|side| (site, side)))
                .map(|(site, side)| (self.bfd[site][side.index()].next_deadline().0, site, side))
                .min_by_key(|b| b.0);
            let queued = self.queue.keys().next().copied();
            match (timer, queued) {
                _ if bfd.is_some_and(|(t, ..)| {
                    t <= end_ns && timer.is_none_or(|(bt, _)| t < bt) && queued.is_none_or(|(qt, _)| t < qt)
                }) =>
                {
                    let (t, site, side) = bfd.expect("checked");
                    self.now = t;
                    let mut out = Vec::new();
                    self.bfd[site][side.index()].tick(Nanos(t), &mut out);
                    self.bfd_actions(site, side, out);
                }
                (Some((t, i)), q) if t <= end_ns && q.is_none_or(|(qt, _)| t < qt) => {
                    self.now = t;
                    self.event(i, Event::Tick);
                }
                (_, Some(k)) if k.0 <= end_ns => {
                    let ev = self.queue.remove(&k).expect("present");
                    self.now = k.0;
                    match ev {
                        Cp::Deliver { to, bytes } => {
                            if self.carried(to) {
                                self.event(to, Event::Data(&bytes));
                            }
                        }
                        Cp::Connect { end } => {
                            let remote = self.ends[end].remote;
                            if self.carried(end) && self.ends[remote].peer.state() == State::Active {
                                self.event(remote, Event::TcpConnected);
                                self.event(end, Event::TcpConnected);
                            } else {
                                self.event(end, Event::TcpFails);
                            }
                        }
                        Cp::Fails { to } => {
                            if self.carried(to) {
                                self.event(to, Event::TcpFails);
                            }
                        }
                        Cp::Fault { site, kind } => self.fault(site, kind),
                        Cp::Bfd { site, to, packet } => {
                            if self.link_up(site) {
                                let mut out = Vec::new();
                                let _ = self.bfd[site][to.index()].receive(Nanos(self.now), &packet, &mut out);
                                self.bfd_actions(site, to, out);
                            }
                        }
                    }
                }
                _ => return,
            }
        }
    }
}

/// The control plane's frames on the cross-connects, by time: (time, site, direction, frame
/// bytes without FCS). Each BGP message is TCP segments of at most 1460 bytes (Ethernet, IPv4
/// and TCP headers added; pure ACKs are not modelled); with BFD, each side sends a 24-byte
/// control packet over UDP every interval, from its phase, for the whole run (the edge is
/// offered only those sent while the link is up).
fn control_frames(cp: &ControlPlane<'_>, sc: &Scenario) -> Vec<(u64, usize, Direction, u32)> {
    const MSS: usize = 1460;
    let l2 = 14 + 4 * u32::from(sc.vlan.is_some());
    let mut frames = Vec::new();
    let md5 = sc.control.as_ref().is_some_and(|c| c.tcp_md5);
    for &(t, site, dir, bytes) in &cp.segments {
        let mut left = bytes;
        while left > 0 {
            let seg = left.min(MSS);
            left -= seg;
            frames.push((t, site, dir, segment_frame_len(l2, md5, seg)));
        }
    }
    for &(t, site, dir) in &cp.bfd_sent {
        frames.push((t, site, dir, (l2 + 20 + 8 + 24).max(60)));
    }
    frames.sort_by_key(|f| f.0);
    frames
}

/// A BGP segment's frame without FCS: `l2` bytes of Ethernet (and VLAN tag), IPv4 and TCP
/// headers, TCP-MD5's option (18 bytes padded to 20, RFC 2385) when on, the payload; 60 bytes
/// at least.
fn segment_frame_len(l2: u32, md5: bool, payload: usize) -> u32 {
    (l2 + 40 + if md5 { 20 } else { 0 } + payload as u32).max(60)
}

/// Runs a scenario with `[control]`: the control plane first (it does not depend on the voice
/// traffic: BGP's few bytes are not policed here), then every site's calls through the routes
/// it chose, in one time-ordered pass.
pub fn simulate_control(sc: &Scenario, progress: &AtomicU64) -> (Vec<SiteReport>, ControlReport, u64, Vec<LinkSeries>) {
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
    // The calls: each site's from its slice, spread over the provider's prefixes; the stray
    // calls from the prefix nobody announced, at the first site.
    let mut flows = Vec::new();
    let mut calls = Vec::new();
    for (h, s) in sc.sites.iter().enumerate() {
        for (provider, k) in c.split_calls(s.calls) {
            flows.push(Flow { home: h, customer: slices[h], provider });
            calls.push(k);
        }
    }
    let site_flows = flows.len();
    if c.stray_calls > 0 {
        flows.push(Flow { home: 0, customer: c.stray_prefix(), provider: c.provider_prefixes[0] });
        calls.push(c.stray_calls);
    }
    let mut cp = ControlPlane::new(sc, c, onboarding, provisioning, flows.clone());
    cp.reroute();
    // Faults inside the simulated time (`--seconds` may have shortened it).
    let faults: Vec<_> = c.faults.iter().filter(|f| f.at.0 < sc.duration.0).copied().collect();
    for f in &faults {
        cp.push(f.at.0, Cp::Fault { site: f.site, kind: f.kind });
    }
    for i in 0..cp.ends.len() {
        // Each passive end listens before its active end connects.
        let e = if i < 2 * n { i ^ 1 } else { i };
        cp.event(e, Event::ManualStart);
    }
    cp.run(sc.duration.0);

    // Traffic: calls start once every site that came up has its routes in (a customer does not
    // place calls before its cross-connects route).
    let up_at = cp.egress.iter().filter_map(|tl| tl.iter().find(|(_, e)| e.is_some()).map(|x| x.0)).max().unwrap_or(0);
    let first_fault = faults.first().map_or(u64::MAX, |f| f.at.0);
    let start_ns = up_at.min(first_fault).div_ceil(1_000_000) * 1_000_000;
    // Each flow's calls, customer → provider; each site's flows also provider → customer (the
    // same calls: same seed, so same arrivals). The stray calls never get an answer.
    struct Stream {
        flow: usize,
        dir: Direction,
        source: Mix<Source>,
        buf: Vec<u8>,
        next: Option<(u64, usize)>,
        rx: Receiver,
        /// Frames each call sent, whatever became of them: its loss is counted against these.
        sent: Vec<u32>,
        cursor: usize,
        /// Its calls per interval of the series.
        quality: Calls,
    }
    let (interval, _) = sc.series_interval();
    // Per home site and direction: the site's calls over time, wherever they cross (as the
    // site's figures count them).
    let mut links: Vec<[Link; 2]> = (0..n).map(|_| [Link::new(interval), Link::new(interval)]).collect();
    let mut legs: Vec<Stream> = Vec::new();
    for dir in Direction::BOTH {
        for (k, (f, &calls)) in flows.iter().zip(&calls).enumerate() {
            if dir == Direction::ToCustomer && k >= site_flows {
                continue;
            }
            // The first flow of each site has the seed a site had before calls were spread
            // over the provider's prefixes.
            let first = k == 0 || flows[k - 1].home != f.home;
            let site_seed = sc.run_seed(f.home);
            let seed = if k >= site_flows {
                sc.seed ^ 0x5742
            } else if first {
                site_seed
            } else {
                site_seed ^ (k as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)
            };
            let mut source = source(sc, calls, dir, f.customer, f.provider, seed, start_ns);
            let mut buf = vec![0u8; source.frame_len()];
            let next = source.next_into(&mut buf);
            let streams = source.total_streams();
            let quality = Calls::new(sc, &source, interval);
            legs.push(Stream {
                flow: k,
                dir,
                source,
                buf,
                next,
                rx: Receiver::new(streams),
                sent: vec![0; streams],
                cursor: 0,
                quality,
            });
        }
    }
    let mut edges: Vec<[Edge; 2]> = sc.sites.iter().map(|s| Direction::BOTH.map(|d| Edge::new(sc, s, d))).collect();
    let src_at = 14 + 4 * usize::from(sc.vlan.is_some()) + 12;
    // Delay variation drawn per direction (customer → provider draws as it did alone).
    let mut jitter = Direction::BOTH.map(|d| StdRng::seed_from_u64(sc.seed ^ 0x6a09_e667_f3bc_c908 ^ d.salt()));
    let mut link_cursors = vec![0usize; n];
    // Frames lost into a failed link or for want of a route, per link-down fault, stream
    // source and call of the failed site; the rest (before any fault: BGP not up yet) apart.
    let downs: Vec<(u64, usize)> =
        faults.iter().filter(|f| f.kind == FaultKind::LinkDown).map(|f| (f.at.0, f.site)).collect();
    let mut lost: Vec<Vec<Vec<u32>>> = downs
        .iter()
        .map(|&(_, site)| {
            legs.iter()
                .map(|l| {
                    let mine = l.flow < site_flows && flows[l.flow].home == site;
                    if mine {
                        vec![0u32; l.sent.len()]
                    } else {
                        Vec::new()
                    }
                })
                .collect()
        })
        .collect();
    let mut unrouted = 0u64;
    let (mut acl_drops, mut frames) = (0u64, 0u64);
    // Per home site and direction.
    let mut counts = vec![[Counts::default(); 2]; n];
    // Per exit site and direction, after the last traffic move: offered, dropped.
    let last_move =
        cp.egress.iter().chain(&cp.ret).flat_map(|tl| tl.iter().map(|x| x.0)).filter(|&t| t >= first_fault).max();
    let mut after = vec![[[0u64; 2]; 2]; n];
    let accepted: Vec<Ipv4Net> = [c.customer_prefix].into_iter().chain(slices.iter().copied()).collect();
    // The control plane's own frames, charged against the tier like any frame.
    let control_frames = control_frames(&cp, sc);
    let mut next_control = 0;
    let mut control = [[0u64; 2]; 2];
    // The next frame of all: the earliest, the first leg on a tie.
    let mut due: BinaryHeap<Reverse<(u64, usize)>> =
        legs.iter().enumerate().filter_map(|(i, l)| l.next.map(|(t, _)| Reverse((t, i)))).collect();
    while let Some(Reverse((_, i))) = due.pop() {
        let leg = &mut legs[i];
        let (sent, len) = leg.next.expect("queued with a frame");
        while let Some(&(t, site, dir, len)) = control_frames.get(next_control).filter(|f| f.0 <= sent) {
            next_control += 1;
            if at(&cp.links[site], &mut link_cursors[site], t) {
                control[dir as usize][0] += 1;
                control[dir as usize][1] += u64::from(edges[site][dir as usize].offer(t, len).is_err());
            }
        }
        let stream = leg.source.last_stream();
        leg.sent[stream] = leg.sent[stream].saturating_add(1);
        frames += 1;
        if frames % 65_536 == 0 {
            progress.fetch_add(65_536, Ordering::Relaxed);
        }
        let k = leg.flow;
        let h = flows[k].home;
        let d = leg.dir as usize;
        let is_stray = k >= site_flows;
        // Stray calls count only as ACL drops, not in their home site's figures.
        let mine = u64::from(!is_stray);
        let counters = &mut counts[h][d];
        counters.offered += mine;
        // Bytes offered to an edge, as it counts them (0: the frame reached none).
        let mut edge_bytes = 0;
        let route = match leg.dir {
            Direction::ToProvider => at(&cp.egress[k], &mut leg.cursor, sent),
            Direction::ToCustomer => at(&cp.ret[k], &mut leg.cursor, sent),
        };
        let frame = &leg.buf[..len];
        let fate = match route {
            None => Fate::Blackholed,
            Some(e) if !at(&cp.links[e], &mut link_cursors[e], sent) => Fate::Blackholed,
            Some(e) => {
                // The provider's ACL on what enters: source inside what the customer announced,
                // destination inside the provider's own prefixes.
                let ip4 = |at: usize| Ipv4Addr::new(frame[at], frame[at + 1], frame[at + 2], frame[at + 3]);
                let (src, dst) = (ip4(src_at), ip4(src_at + 4));
                let refused = leg.dir == Direction::ToProvider
                    && (!accepted.iter().any(|p| p.contains(&src))
                        || !c.provider_prefixes.iter().any(|p| p.contains(&dst)));
                if refused {
                    Fate::Acl
                } else {
                    let edge = &mut edges[e][d];
                    let bytes = u64::from(edge.accounted(len as u32));
                    counters.offered_bytes += bytes * mine;
                    edge_bytes = bytes;
                    let r = edge.offer(sent, len as u32);
                    if last_move.is_some_and(|m| sent >= m) {
                        after[e][d][0] += 1;
                        after[e][d][1] += u64::from(r.is_err());
                    }
                    match r {
                        Ok(t) => {
                            counters.passed_bytes += bytes * mine;
                            Fate::Passed(t)
                        }
                        Err(d) => Fate::Edge(d),
                    }
                }
            }
        };
        let arrival = match fate {
            Fate::Passed(t_edge) => {
                let v = if sc.variation.0 > 0 { jitter[d].random_range(0..=sc.variation.0) } else { 0 };
                Some(t_edge + sc.propagation.0 + v)
            }
            _ => None,
        };
        if !is_stray {
            let outcome = match (fate, arrival) {
                (_, Some(a)) => Outcome::Arrived(a),
                (Fate::Edge(drop), None) => Outcome::Lost(Loss::Edge(drop)),
                _ => Outcome::Lost(Loss::Lost),
            };
            let link = &mut links[h][d];
            link.frame(sent, edge_bytes, outcome);
            leg.quality.frame(stream, sent, arrival, link);
        }
        match fate {
            Fate::Passed(..) => {
                counters.passed += mine;
                leg.rx.receive(frame, stream, sent, arrival.expect("a passed frame arrives"));
            }
            Fate::Blackholed => match downs.iter().rposition(|&(t, site)| t <= sent && site == h) {
                Some(f) if !is_stray => lost[f][i][stream] += 1,
                _ => unrouted += 1,
            },
            Fate::Acl => acl_drops += 1,
            Fate::Edge(EdgeDrop::Policer) => counters.policer += mine,
            Fate::Edge(EdgeDrop::Port) => counters.port += mine,
            Fate::Edge(EdgeDrop::Shaper) => counters.shaper += mine,
        }
        leg.next = leg.source.next_into(&mut leg.buf);
        if let Some((t, _)) = leg.next {
            due.push(Reverse((t, i)));
        }
    }
    // The control plane's frames after the last call frame.
    for &(t, site, dir, len) in &control_frames[next_control..] {
        if at(&cp.links[site], &mut link_cursors[site], t) {
            control[dir as usize][0] += 1;
            control[dir as usize][1] += u64::from(edges[site][dir as usize].offer(t, len).is_err());
        }
    }

    // The series: each site's calls' last interval, then every site's two directions.
    for leg in legs.iter_mut().filter(|l| l.flow < site_flows) {
        leg.quality.finish(&mut links[flows[leg.flow].home][leg.dir as usize]);
    }
    let mut series: Vec<LinkSeries> = links
        .into_iter()
        .zip(&sc.sites)
        .flat_map(|(pair, s)| {
            pair.into_iter().zip(Direction::BOTH).map(|(link, dir)| LinkSeries {
                site: s.name.clone(),
                direction: dir.name(),
                tier_bps: s.tier.rate_bps(),
                series: link.finish(sc.duration.0),
                mos_histogram: Bins::default(),
                delay_ms_histogram: Bins::default(),
            })
        })
        .collect();

    // Reports: each site's two directions, each from its calls' streams (from all its flows,
    // in flow order in both directions, so that a call's two legs share an index).
    let scored = sc.traffic.scored();
    let mut site_legs: Vec<[Option<Leg>; 2]> = (0..n).map(|_| [None, None]).collect();
    for h in 0..n {
        for dir in Direction::BOTH {
            let (mut rows, mut missing, mut scores, mut delays) = (Vec::new(), 0, Vec::new(), delay_histogram());
            for l in legs.iter_mut().filter(|l| l.dir == dir && l.flow < site_flows && flows[l.flow].home == h) {
                let (r, m) = rows_against_sent(std::slice::from_mut(&mut l.rx), &l.sent);
                rows.extend(r);
                missing += m;
                scores.extend(leg_scores(std::slice::from_ref(&l.rx), &l.sent, scored));
                delays.add(&l.rx.delays).expect("same bounds");
            }
            sort_rows(&mut rows);
            let s = &sc.sites[h];
            let c = counts[h][dir as usize];
            let seen = Seen { rows: (rows, missing), scores, delays };
            site_legs[h][dir as usize] = Some(Leg::new(sc, s.name.clone(), s, s.calls, c, seen));
        }
    }
    // The distributions, from the legs the sites' figures come from (same order as `series`).
    for (s, leg) in series.iter_mut().zip(site_legs.iter().flat_map(|pair| pair.iter())) {
        let leg = leg.as_ref().expect("built");
        s.mos_histogram = Bins::of_mos(&leg.scores);
        s.delay_ms_histogram = Bins::of_delays(&leg.delays);
    }
    // A call's fate is the worse of its legs.
    let calls_below_mos_3_6 = site_legs
        .iter()
        .map(|[up, down]| {
            let (up, down) = (up.as_ref().expect("built"), down.as_ref().expect("built"));
            worse_legs(&up.scores, &down.scores).iter().filter(|c| c.below(MOS_DEGRADED)).count() as u64
        })
        .sum();
    let sites: Vec<SiteReport> = site_legs
        .into_iter()
        .map(|[up, down]| SiteReport::both(up.expect("built"), down.expect("built"), sc))
        .collect();

    let t = |ns: u64| ns as f64 / 1e9;
    let mut failovers = Vec::new();
    for (fi, f) in faults.iter().filter(|f| f.kind == FaultKind::LinkDown).enumerate() {
        let h = f.site;
        let detected = |side: Side| cp.left_established[h][side.index()].iter().find(|(ts, _)| *ts >= f.at.0).cloned();
        // The first move of any of the site's flows away from the failed site.
        let first_move = |tls: &[Timeline<Option<usize>>]| {
            (0..site_flows)
                .filter(|&k| flows[k].home == h)
                .filter_map(|k| tls[k].iter().find(|(ts, e)| *ts >= f.at.0 && *e != Some(h)).copied())
                .min_by_key(|m| m.0)
        };
        let moved = first_move(&cp.egress);
        let ret_moved = first_move(&cp.ret);
        let lost_in = |dir: Direction| -> Vec<u64> {
            legs.iter()
                .zip(&lost[fi])
                .filter(|(l, _)| l.dir == dir)
                .flat_map(|(_, v)| v.iter().map(|&x| u64::from(x)))
                .collect()
        };
        let per_call = lost_in(Direction::ToProvider);
        let outage = moved.map(|(ts, _)| ts - f.at.0);
        failovers.push(FailoverRow {
            site: sc.sites[h].name.clone(),
            down_s: t(f.at.0),
            provider_detected_s: detected(Side::Provider).map(|d| t(d.0)),
            customer_detected_s: detected(Side::Customer).map(|d| t(d.0)),
            detected_by: detected(Side::Provider).or(detected(Side::Customer)).map_or(DetectedBy::NotDetected, |d| d.1),
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
            expected_per_call: outage.map_or(0.0, |o| sc.traffic.packets_in(o)),
            return_outage_s: ret_moved.map(|(ts, _)| t(ts - f.at.0)),
            return_lost_frames: lost_in(Direction::ToCustomer).iter().sum(),
        });
    }
    let survivors = match last_move {
        Some(m) => (0..n)
            .filter(|&e| after[e][0][0] + after[e][1][0] > 0)
            .map(|e| {
                let pct = |[offered, dropped]: [u64; 2]| {
                    if offered == 0 {
                        0.0
                    } else {
                        dropped as f64 * 100.0 / offered as f64
                    }
                };
                let [up, down] = after[e];
                let both = [up[0] + down[0], up[1] + down[1]];
                let (up, down) = (pct(up), pct(down));
                SurvivorRow {
                    site: sc.sites[e].name.clone(),
                    tier_bps: sc.sites[e].tier.rate_bps(),
                    from_s: t(m),
                    offered_frames: both[0],
                    dropped_frames: both[1],
                    loss_pct: pct(both),
                    to_provider_loss_pct: up,
                    to_customer_loss_pct: down,
                    carried: up <= sc.loss_target_pct && down <= sc.loss_target_pct,
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
    let detection = |d: Detection| match d {
        Detection::Hold => format!("hold timer {} s (keepalive every {} s)", c.hold_s, f64::from(c.hold_s) / 3.0),
        Detection::Bfd { interval, multiplier } => format!("BFD {} ms x {multiplier}", interval.0 / 1_000_000),
    };
    let sessions = sc
        .sites
        .iter()
        .map(|s| SessionProtection {
            site: s.name.clone(),
            tcp_md5: c.tcp_md5,
            gtsm: c.gtsm,
            detection: s.bfd.map_or_else(
                || detection(c.detection),
                |t| detection(Detection::Bfd { interval: t.tx, multiplier: u32::from(t.mult) }),
            ),
        })
        .collect();
    let report = ControlReport {
        onboarding,
        detection: detection(c.detection),
        sessions,
        timeline: std::mem::take(&mut cp.timeline),
        failovers,
        // The sites' calls (not the stray ones, which the ACL is meant to drop); a call none of
        // whose frames arrived counts as below.
        calls_below_mos_3_6,
        survivors,
        acl_drops,
        traffic_start_s: t(start_ns),
        unrouted_frames: unrouted,
        control_frames: Direction::BOTH
            .map(|d| ControlFrames {
                direction: d.name(),
                frames: control[d as usize][0],
                dropped: control[d as usize][1],
            })
            .to_vec(),
        single_point_of_failure: n == 1,
    };
    (sites, report, frames, series)
}

fn source(
    sc: &Scenario,
    calls: u64,
    dir: Direction,
    customer: Ipv4Net,
    provider: Ipv4Net,
    seed: u64,
    start_ns: u64,
) -> Mix<Source> {
    let addresses = AddressPlan {
        customer: (customer.network(), customer.prefix_len()),
        provider: (provider.network(), provider.prefix_len()),
        ..AddressPlan::default()
    };
    Scenario::source(&sc.call_plans(calls, dir.legs(), seed, start_ns, addresses))
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
        let (sites, c, _, _) = simulate_control(&sc, &AtomicU64::new(0));
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
            let prop = sc.propagation.0 as f64 / 1e9;
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
    fn a_site_with_its_own_bfd_timers_detects_on_them_and_the_report_says_so() {
        // Ashburn (the site that fails) with 50 ms x 3 instead of [control]'s 300 ms x 3.
        let own = "tier = \"100M\"\ncalls = 500\nbfd_interval_ms = 50\n\n[[sites]]\nname = \"san-jose\"";
        let (_, _, c) = run(BFD, &[("tier = \"100M\"\ncalls = 500\n\n[[sites]]\nname = \"san-jose\"", own)]);
        let f = &c.failovers[0];
        assert_eq!(f.detected_by, DetectedBy::Bfd);
        for d in [f.provider_detected_s.unwrap(), f.customer_detected_s.unwrap()] {
            let took = d - f.down_s;
            assert!((0.1..=0.15 + 1e-9).contains(&took), "50 ms x 3: detected after {took} s");
        }
        let rows: Vec<(&str, &str)> = c.sessions.iter().map(|s| (s.site.as_str(), s.detection.as_str())).collect();
        assert_eq!(rows, [("ashburn", "BFD 50 ms x 3"), ("san-jose", "BFD 300 ms x 3")]);
        assert!(c.sessions.iter().all(|s| !s.tcp_md5 && !s.gtsm));
    }

    #[test]
    fn tcp_md5_makes_every_bgp_segment_20_bytes_longer_and_gtsm_is_reported() {
        let protected = HOLD.replace("[control]\n", "[control]\ntcp_md5 = true\ngtsm = true\n");
        let (_, _, c) = run(&protected, &[]);
        assert!(c.sessions.iter().all(|s| s.tcp_md5 && s.gtsm), "{:?}", c.sessions);
        let (_, _, plain) = run(HOLD, &[]);
        assert!(plain.sessions.iter().all(|s| !s.tcp_md5 && !s.gtsm));
        assert_eq!(c.control_frames, plain.control_frames, "the same segments, only longer");
        // Ethernet 14 + IPv4 20 + TCP 20 (+ 20 with the MD5 option) + payload, 60 at least.
        assert_eq!(segment_frame_len(14, false, 19), 73);
        assert_eq!(segment_frame_len(14, true, 19), 93);
        assert_eq!(segment_frame_len(18, true, 1460), 1538);
        assert_eq!(segment_frame_len(14, false, 1), 60);
    }

    #[test]
    fn site_bfd_timers_need_bfd_detection() {
        let text = HOLD.replacen("calls = 500\n", "calls = 500\nbfd_multiplier = 5\n", 1);
        let e = Scenario::parse(&text, "test").unwrap_err().to_string();
        assert!(e.contains("bfd_multiplier: only with [control] detection = \"bfd\""), "{e}");
    }

    #[test]
    fn the_work_estimate_bounds_the_bfd_packets_sent() {
        for interval in [300u64, 50] {
            let (sc, _, c) = run(BFD, &[("bfd_interval_ms = 300", &format!("bfd_interval_ms = {interval}"))]);
            let w = crate::budget::Work::simulate(&sc);
            // Offered while the links were up: BGP segments and BFD packets.
            let offered: u64 = c.control_frames.iter().map(|f| f.frames).sum();
            assert!(offered <= w.control + 1000, "{interval} ms: {offered} offered, {} BFD estimated", w.control);
            // And the estimate is not wildly above: about 4 sessions x 60 s / 0.875 interval.
            let expected = 4.0 * 60.0 / (0.875 * interval as f64 / 1e3);
            assert!(
                (w.control as f64) < 1.5 * expected,
                "{interval} ms: estimate {} for about {expected:.0}",
                w.control
            );
            // (Ashburn's link is down for the second half: its packets are not offered then.)
            assert!((offered as f64) > 0.7 * expected, "{interval} ms: {offered} offered for about {expected:.0}");
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
            let prop = sc.propagation.0 as f64 / 1e9;
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
        let offered = sc.traffic.stream_bps(BandwidthLayer::Frame, false) * 1600.0;
        let expected = (1.0 - 100e6 / offered) * 100.0;
        assert!((s.loss_pct - expected).abs() < 0.5, "{} vs {expected}", s.loss_pct);
        assert!(c.calls_below_mos_3_6 > 0);
        check_convergence_loss(&c.failovers[0], 800);
    }

    #[test]
    fn a_mix_fails_over_each_call_losing_its_own_packet_times() {
        // Half the calls G.711 at 20 ms, half G.729 at 30 ms: during the outage a call loses
        // the outage over its own packet time.
        let mix = "[[traffic.mix]]\ncodec = \"g711u\"\nptime_ms = 20\nshare = 0.5\n\
                   [[traffic.mix]]\ncodec = \"g729\"\nptime_ms = 30\nshare = 0.5\n";
        let (sc, sites, c) =
            run(HOLD, &[("[traffic]\ncodec = \"g711u\"\nptime_ms = 20\n", &format!("[traffic]\n{mix}"))]);
        assert_eq!(sc.traffic.classes().len(), 2);
        let f = &c.failovers[0];
        let outage_ms = f.outage_s.unwrap() * 1e3;
        let expected = 0.5 * outage_ms / 20.0 + 0.5 * outage_ms / 30.0;
        assert!((f.expected_per_call - expected).abs() < 1e-6, "{f:?}");
        assert!(
            f.lost_per_call_max as f64 >= outage_ms / 20.0 - 1.0
                && f.lost_per_call_max as f64 <= outage_ms / 20.0 + 1.0
        );
        assert!(
            f.lost_per_call_min as f64 >= outage_ms / 30.0 - 1.0
                && f.lost_per_call_min as f64 <= outage_ms / 30.0 + 1.0
        );
        // Ashburn's 500 calls: 250 of each.
        assert!((f.lost_frames as f64 - expected * 500.0).abs() <= 500.0, "{f:?}");
        // Both sites carry their calls, and every call is scored with its codec.
        for s in &sites {
            assert!(s.mos_min.is_some());
        }
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
            (sc.duration.0 - (c.traffic_start_s * 1e9) as u64) / (u64::from(sc.traffic.main().ptime_ms) * 1_000_000);
        assert!((c.acl_drops as i64 - 10 * frames_per_call as i64).abs() <= 10, "{}", c.acl_drops);
        assert!(sites[0].ok, "the customer's own calls are unaffected");
    }

    #[test]
    fn max_prefix_limit_closes_the_session_with_cease_1_as_the_speaker_does() {
        // Each of two sites announces its slice and the aggregate: two prefixes, one too many.
        let limit = |n: &str| format!("customer_prefix = \"45.64.0.0/22\"\nmax_prefixes = {n}");
        let ceases = |c: &ControlReport, site: &str| -> Vec<f64> {
            c.timeline
                .iter()
                .filter(|t| {
                    t.site == site
                        && t.event == TimelineEvent::NotificationSent
                        && t.detail.starts_with("provider: 6/1 ")
                })
                .map(|t| t.t_s)
                .collect()
        };
        let (_, sites, c) = run(BFD, &[("customer_prefix = \"45.64.0.0/22\"", &limit("1"))]);
        for site in ["ashburn", "san-jose"] {
            // Once: without max_prefixes_restart_s the provider keeps the session down.
            assert_eq!(ceases(&c, site).len(), 1, "{:#?}", c.timeline);
            let row = c.timeline.iter().find(|t| t.site == site && t.detail.starts_with("provider: 6/1 ")).unwrap();
            assert!(row.detail.contains("Maximum Number of Prefixes Reached"), "{}", row.detail);
            assert!(row.detail.contains("2 prefixes accepted, the limit is 1"), "{}", row.detail);
            // The customer hears it.
            assert!(c.timeline.iter().any(|t| t.site == site
                && t.event == TimelineEvent::NotificationReceived
                && t.detail.starts_with("customer: 6/1 ")));
        }
        // The provider never keeps the customer's routes: its calls have no route.
        assert!(sites.iter().all(|s| !s.ok));
        assert!(c.unrouted_frames > 0);
        // With a restart time the provider accepts the session again after it; the customer,
        // whose every session ends in an error, waits twice as long each time (5, 10, 20 s).
        let restart = format!("{}\nmax_prefixes_restart_s = 2", limit("1"));
        let (_, _, c) =
            run(BFD, &[("customer_prefix = \"45.64.0.0/22\"", &restart), ("duration_s = 60", "duration_s = 60")]);
        let t = ceases(&c, "san-jose");
        assert!(t.len() >= 3, "{t:?}");
        let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] > 1.5 * g[0]), "the waits grow: {gaps:?}");
        // At the limit, the run is the fixture's.
        let (_, at_limit, c2) = run(BFD, &[("customer_prefix = \"45.64.0.0/22\"", &limit("2"))]);
        let (_, fixture, c3) = run(BFD, &[]);
        assert_eq!(at_limit, fixture);
        assert_eq!(c2, c3);
    }

    #[test]
    fn every_provider_prefix_is_announced_routed_and_failed_over() {
        let two = "customer_prefix = \"45.64.0.0/22\"\nprovider_prefixes = [\"168.86.128.0/18\", \"34.203.250.0/23\"]";
        let (_, sites, c) = run(BFD, &[("customer_prefix = \"45.64.0.0/22\"", two)]);
        // Calls go to both prefixes and none is dropped by the ACL; Ashburn's calls lose only
        // what the failover cost, San Jose's nothing.
        assert_eq!(c.acl_drops, 0);
        let d = sites[0].directions.as_ref().unwrap();
        assert_eq!(d.to_provider.dropped_frames, c.failovers[0].lost_frames, "{sites:?}");
        assert_eq!(d.to_customer.dropped_frames, c.failovers[0].return_lost_frames, "{sites:?}");
        assert!(sites[1].ok, "{sites:?}");
        // Both prefixes' traffic of Ashburn's calls moves to San Jose, at one time.
        let moves: Vec<&TimelineRow> = c
            .timeline
            .iter()
            .filter(|t| t.event == TimelineEvent::BestPath && t.detail.contains("of ashburn calls to") && t.t_s > 1.0)
            .collect();
        assert_eq!(moves.len(), 2, "{moves:#?}");
        assert!(moves.iter().all(|m| m.t_s == moves[0].t_s && m.detail.ends_with("now via san-jose")));
        let f = &c.failovers[0];
        assert_eq!(f.moved_to.as_deref(), Some("san-jose"));
        check_convergence_loss(f, 500);
        // The customer routers learnt both prefixes over eBGP and from each other over iBGP.
        let withdrawn: Vec<&str> = c
            .timeline
            .iter()
            .filter(|t| t.event == TimelineEvent::Withdraw && t.detail.starts_with("customer router at ashburn"))
            .map(|t| t.detail.as_str())
            .collect();
        assert_eq!(
            withdrawn,
            [
                "customer router at ashburn: 34.203.250.0/23 now via san-jose",
                "customer router at ashburn: 168.86.128.0/18 now via san-jose"
            ]
        );
    }

    #[test]
    fn the_second_site_fails_over_to_the_first_through_ibgp() {
        // San Jose's link fails: its router reaches the provider through Ashburn's route, learnt
        // over iBGP (the lower-numbered site is not special).
        let events = "[[events]]\nat = \"20s\"\nsite = \"san-jose\"\nkind = \"link-down\"\n";
        let i = BFD.find("[[events]]").unwrap();
        let text = format!("{}{events}", &BFD[..i]);
        let (_, _, c) = run(&text, &[]);
        let f = &c.failovers[0];
        assert_eq!(f.site, "san-jose");
        assert_eq!(f.moved_to.as_deref(), Some("ashburn"), "{:#?}", c.timeline);
        assert!(c.timeline.iter().any(|t| t.detail == "customer router at san-jose: 168.86.128.0/18 now via ashburn"));
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
