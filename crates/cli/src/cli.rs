//! The command line, declared with clap derive.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Simulate, replay and check a cloud voice provider's Layer-2 cross-connect.
#[derive(Debug, Parser)]
#[command(name = "xconnect", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Summarize a pcap or pcapng capture: frames and bytes per layer, VLANs, top flows,
    /// malformed frames with their reason, time span and peak rates.
    ///
    /// Exit codes: 0 the whole file was read; 1 the file could not be opened or is not a
    /// capture; 2 the file stops early or is corrupt part-way (the report covers every frame
    /// before the damage), unless --allow-truncated is given.
    ///
    /// Live ports (root, or CAP_NET_RAW): `--iface IF` analyzes what arrives on an interface
    /// instead of a file, with the same report; `FILE --to-iface IF` sends a capture's frames
    /// onto an interface at their own times (tcpreplay's job) and reports the pacing. Both end
    /// on SIGINT/SIGTERM with the report so far, and exit 2 if the link goes down.
    Replay {
        /// The capture file (pcap or pcapng, detected from its magic number).
        #[arg(required_unless_present = "iface")]
        file: Option<PathBuf>,
        /// Analyze the frames arriving on this interface (live) instead of a file.
        #[arg(long, value_name = "IF", conflicts_with_all = ["file", "threads"])]
        iface: Option<String>,
        /// With --iface: stop after this many seconds [default: at SIGINT/SIGTERM].
        #[arg(long, requires = "iface", conflicts_with = "file")]
        seconds: Option<f64>,
        /// With --iface: also keep every frame received in this pcap (nanosecond; written
        /// atomically).
        #[arg(long, value_name = "FILE", requires = "iface", conflicts_with = "file")]
        write: Option<PathBuf>,
        /// Send the capture's frames onto this interface at their own times instead of
        /// analyzing them; prints frames sent, the rate and the pacing error.
        #[arg(long, value_name = "IF", requires = "file", conflicts_with_all = ["tier", "report", "threads"])]
        to_iface: Option<String>,
        /// With --to-iface: play this many times faster (0.5 is half speed) [default: 1].
        #[arg(long, requires = "to_iface")]
        speed: Option<f64>,
        /// With --to-iface: play the capture this many times, each pass right after the last
        /// [default: 1].
        #[arg(long = "loop", value_name = "N", requires = "to_iface")]
        loops: Option<u64>,
        /// Print one JSON object on stdout instead of tables (schema in the README).
        #[arg(long)]
        json: bool,
        /// Exit 0 even when the file stops early or is corrupt part-way.
        #[arg(long)]
        allow_truncated: bool,
        /// How many flows to list, busiest by bytes first.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Also write a self-contained HTML report (charts, tables) to this file.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// The series' interval (`series` in the JSON, the report's charts), e.g. 100ms or 1s
        /// [default: 1 s, or 100 ms for captures under a minute; widened to keep at most 3600
        /// points].
        #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
        interval: Option<u64>,
        /// How many RTP streams the text lists (the JSON lists every one).
        #[arg(long, default_value_t = 100)]
        rtp_rows: usize,
        /// Treat every UDP packet with a port in LO-HI as RTP (no heuristic), e.g. 10000-60000.
        /// Packets there whose RTP version is not 2 are counted, not analyzed.
        #[arg(long, value_name = "LO-HI", value_parser = parse_port_range)]
        rtp_port_range: Option<(u16, u16)>,
        /// Threads that share the flows [default: the number of cores, at most 8; more are
        /// capped, with a note]. The report does not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        #[command(flatten)]
        whatif: WhatIf,
    },
    /// Simulate a cross-connect in virtual time: calls on the customer's 1 Gbps port, the
    /// tier's policer at the provider edge, every frame parsed and every call analyzed at the
    /// receiver. Without a file, the built-in default: the provider guide's two-site example
    /// (100 Mbps in Ashburn + 100 Mbps in San Jose) with the failover check.
    Simulate {
        /// Scenario file (TOML; see fixtures/scenarios/default.toml).
        scenario: Option<PathBuf>,
        /// One JSON object on stdout (schema in the README).
        #[arg(long)]
        json: bool,
        /// Override the scenario's duration, seconds of simulated time.
        #[arg(long)]
        seconds: Option<f64>,
        /// Worker threads [default: the number of cores; more than the cores are capped to them,
        /// with a note]. The report does not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Refuse runs estimated at more frames than this [default: 10000000000, about ten
        /// minutes]; the estimate is printed with the refusal.
        #[arg(long)]
        max_frames: Option<u64>,
        /// Also write a self-contained HTML report (charts, tables) to this file.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// The series' interval (`series` in the JSON, the report's charts), e.g. 100ms or 1s
        /// [default: 1 s, or 100 ms for runs under a minute; widened to keep at most 3600
        /// points].
        #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
        interval: Option<u64>,
    },
    /// Write a capture of synthetic RTP calls: real G.711 audio (a 1004 Hz tone) for g711u and
    /// g711a, bandwidth-true payloads for the others; customer prefix ⇄ the provider's media
    /// range 168.86.128.0/18, UDP ports 10000–60000.
    Generate(GenerateArgs),
    /// Learn a scenario from a capture: the calls' codecs and packet times (a mix with shares),
    /// silence suppression, arrivals (tested against Poisson) and holding times (exponential
    /// against lognormal), the offered Erlangs, the load and peaks per direction, the delay
    /// variation from the streams' jitter, and sites from VLAN ids. The scenario is TOML that
    /// `simulate` and `generate --scenario` read, each number with a comment saying where it
    /// came from; what a capture cannot hold (location, one-way delay, targets) is said to be
    /// a default.
    Fit(FitArgs),
    /// Run a BGP-4 speaker over TCP that a real router (BIRD, FRR, GoBGP) peers with, as the
    /// customer's border router or the provider's edge. It prints the routes it accepts and
    /// rejects (with the reason) and shuts down with Cease / Administrative Shutdown on SIGINT,
    /// SIGTERM or `shutdown`.
    ///
    /// Commands on stdin, one per line: `announce PFX...`, `withdraw PFX...`, `routes` (print
    /// the RIB's best routes), `shutdown`.
    Bgp(BgpArgs),
    /// Check an onboarding request the way the provider's onboarding would: location exists,
    /// bandwidth sold there (500 Mbps only in London and Singapore), every route a valid public
    /// IPv4 CIDR (special-purpose ranges named with their RFC), no overlaps, ASN public or
    /// absent (then a private one is assigned), account SID "AC" + 32 hex digits. Every problem
    /// is listed with its field and line.
    ///
    /// The file (TOML): account_sid, location, bandwidth ("10M", "100M", "500M", "1G"),
    /// routes (list of prefixes), asn (optional). Exit codes: 0 valid; 1 invalid or unreadable.
    Validate {
        /// The request file.
        request: PathBuf,
        /// One JSON object on stdout: {file, valid, problems [{field, line, message}], request,
        /// notes}.
        #[arg(long)]
        json: bool,
    },
    /// The largest number of concurrent calls a tier carries with loss at or under a target,
    /// found by simulation (bisection), beside the arithmetic answer and the provider's rule of
    /// thumb (10 calls per Mbps).
    Capacity {
        /// 10M, 100M, 500M or 1G.
        #[arg(long)]
        tier: String,
        /// g711u, g711a, g729, g722 or opus.
        #[arg(long, default_value = "g711u")]
        codec: String,
        /// Packet time in ms.
        #[arg(long, default_value_t = 20)]
        ptime: u32,
        /// random or sync (all calls send at the same instant: the policer's worst case).
        #[arg(long, value_enum, default_value_t = PhaseArg::Random)]
        phase: PhaseArg,
        /// Policer burst in bytes [default: 10 ms at the tier's rate].
        #[arg(long)]
        burst: Option<u64>,
        /// Most loss allowed, percent: 0 to 20 (beyond 20 % loss the E-model scores a G.711 call
        /// below MOS 2.6, which no one would call a call).
        #[arg(long, default_value_t = 0.0)]
        loss_target: f64,
        /// Simulated seconds per trial (the bucket starts in its steady state, see the README).
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Refuse searches estimated at more frames than this over all trials [default:
        /// 10000000000].
        #[arg(long)]
        max_frames: Option<u64>,
        /// Also write a self-contained HTML report (the search's trials, charted) to this file.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Plan a cross-connect: concurrent calls (Erlang B from busy-hour traffic), bandwidth per
    /// direction, the smallest tier with 10 % headroom, and the sites, each able to carry every
    /// call alone. `--table` prints the codec's bandwidth per layer and calls per tier instead.
    Plan {
        /// Concurrent calls to carry.
        #[arg(long, conflicts_with = "busy_hour_erlangs")]
        calls: Option<u64>,
        /// Busy-hour traffic in Erlangs (turned into calls by Erlang B).
        #[arg(long, requires = "blocking")]
        busy_hour_erlangs: Option<f64>,
        /// Blocking target for Erlang B, e.g. 0.01.
        #[arg(long)]
        blocking: Option<f64>,
        /// g711u, g711a, g729, g722 or opus.
        #[arg(long, default_value = "g711u")]
        codec: String,
        /// Packet time in ms.
        #[arg(long, default_value_t = 20)]
        ptime: u32,
        /// Sites, each in a different location, sized so that the others carry every call when
        /// one fails (2: each carries all; 3: each carries half). 1 is allowed and flagged as a
        /// single point of failure.
        #[arg(long, default_value_t = 2)]
        sites: usize,
        /// Where the customer's users are: locations (ashburn, san-jose, london, singapore) or
        /// regions (us, europe, asia, any), comma-separated. Only these are planned.
        #[arg(long, default_value = "any")]
        locations: String,
        /// Print the per-layer bandwidth and calls-per-tier table.
        #[arg(long)]
        table: bool,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// `xconnect generate`'s options.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Concurrent calls (with Poisson arrivals in a scenario: the offered Erlangs).
    #[arg(long, required_unless_present = "scenario")]
    pub calls: Option<u64>,
    /// Seconds of calls.
    #[arg(long, required_unless_present = "scenario")]
    pub seconds: Option<f64>,
    /// The calls a scenario's site offers, as `simulate` offers them: its traffic (each class
    /// of a mix: codec, packet time, silence suppression), its arrivals and holding times,
    /// phases, VLAN tag, seed and duration, both directions. Instead of --calls, --seconds,
    /// --codec, --ptime, --vlan, --phase, --seed, --silence-suppression, --both-directions.
    #[arg(
        long,
        value_name = "SCENARIO.toml",
        conflicts_with_all = ["calls", "seconds", "codec", "ptime", "vlan", "phase", "both_directions", "seed", "silence_suppression"]
    )]
    pub scenario: Option<PathBuf>,
    /// With --scenario: the site whose calls to write (needed when it has more than one).
    #[arg(long)]
    pub site: Option<String>,
    /// g711u, g711a, g729, g722 or opus.
    #[arg(long, default_value = "g711u")]
    pub codec: String,
    /// Packet time in ms.
    #[arg(long, default_value_t = 20)]
    pub ptime: u32,
    /// Tag every frame with this 802.1Q VLAN id.
    #[arg(long)]
    pub vlan: Option<u16>,
    /// random: each call starts at a random point within one packet time; sync: all at
    /// once (the worst case for a policer's burst).
    #[arg(long, value_enum, default_value_t = PhaseArg::Random)]
    pub phase: PhaseArg,
    /// Both directions of every call (customer → provider and back).
    #[arg(long)]
    pub both_directions: bool,
    /// Seed for SSRCs, initial sequence numbers, timestamps and phases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Silence suppression: talkspurts and pauses (ITU-T P.59 means, 1.004 s and 1.587 s),
    /// no packets in pauses, the marker bit on each talkspurt's first packet.
    #[arg(long)]
    pub silence_suppression: bool,
    /// The customer's public prefix.
    #[arg(long, default_value = "203.0.113.0/24")]
    pub customer_prefix: String,
    /// Each call as a SIP dialog (INVITE with an SDP offer, 100, 180, 200 with the answer,
    /// ACK; BYE and 200 at the end) between the customer's and the provider's addresses on
    /// port 5060, RTP both ways, and RTCP sender reports every 5 s (RFC 3550) on port + 1.
    #[arg(long)]
    pub sip: bool,
    /// With --sip and --silence-suppression: each pause starts with a comfort-noise packet
    /// (RFC 3389, payload type 13).
    #[arg(long, requires = "sip")]
    pub comfort_noise: bool,
    /// With --sip: the share of calls (0 to 1) whose customer sends a DTMF digit as RFC 4733
    /// events (payload type 101) 1 s into the call.
    #[arg(long, requires = "sip")]
    pub dtmf_share: Option<f64>,
    /// With --sip: the share of calls (0 to 1) that switch to T.38 fax half-way through by a
    /// re-INVITE on the same ports (RTP stops; UDPTL follows).
    #[arg(long, requires = "sip")]
    pub t38_share: Option<f64>,
    /// Output pcap (nanosecond). A regular file is written atomically (a temporary file renamed
    /// over it, keeping an existing file's mode); `-` is standard output; a device or FIFO is
    /// written in place.
    #[arg(short, long, required_unless_present = "iface")]
    pub output: Option<PathBuf>,
    /// Send the calls on this interface in real time instead of writing a file (root, or
    /// CAP_NET_RAW); prints frames sent, the rate and the pacing error (actual minus
    /// scheduled send time) at the end, also after SIGINT/SIGTERM.
    #[arg(long, value_name = "IF", conflicts_with = "output")]
    pub iface: Option<String>,
    /// With --iface: the send report as one JSON object.
    #[arg(long, requires = "iface")]
    pub json: bool,
    /// Refuse captures estimated at more frames than this [default: 10000000000].
    #[arg(long)]
    pub max_frames: Option<u64>,
}

/// `xconnect fit` arguments.
#[derive(Debug, clap::Args)]
pub struct FitArgs {
    /// The capture (pcap or pcapng).
    pub capture: PathBuf,
    /// The customer's prefixes (repeatable), as `replay --tier` takes them [default: the
    /// provider is the catalog's range, 168.86.128.0/18].
    #[arg(long, conflicts_with = "provider_prefix")]
    pub customer_prefix: Vec<String>,
    /// The provider's prefixes instead (repeatable).
    #[arg(long)]
    pub provider_prefix: Vec<String>,
    /// Write the scenario to this file (atomically) [default: standard output].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Scale the fitted calls by this percentage, e.g. 30 for 30 % more (-99 to 900).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub growth: f64,
    /// Fit the capture's busiest hour only (the hour with the most call time).
    #[arg(long)]
    pub busy_hour: bool,
    /// Every site's tier [default: the smallest that carries its busier direction's 1 s peak].
    #[arg(long)]
    pub tier: Option<String>,
    /// Every site's location (not in a capture) [default: ashburn].
    #[arg(long)]
    pub location: Option<String>,
    /// A site and the prefix its calls use (repeatable), e.g. `ashburn=45.64.0.0/23`: a call
    /// belongs to the first site whose prefix holds one of its addresses [default: one site
    /// per VLAN id when the calls carry more than one, else one site].
    #[arg(long, value_name = "NAME=PREFIX")]
    pub site_prefix: Vec<String>,
    /// The fit's figures as one JSON object on stdout (the scenario goes to --output).
    #[arg(long)]
    pub json: bool,
    /// Replay threads [default: the number of cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Phase model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PhaseArg {
    /// Random within one packet time.
    Random,
    /// All at once.
    Sync,
}

/// A duration such as `100ms`, `1s` or `2.5s` (a bare number is seconds), in ns: from 1 ms to
/// one day.
pub fn parse_interval(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e9)
    } else {
        (t, 1e9)
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("{s:?}: expected a duration such as 100ms, 1s or 2.5s"))?;
    let ns = v * scale;
    if !(1e6..=86_400e9).contains(&ns) {
        return Err(format!("{s:?}: expected from 1ms to 86400s (one day)"));
    }
    Ok((ns / 1e6).round() as u64 * 1_000_000)
}

fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = s.split_once('-').ok_or_else(|| format!("{s:?}: expected LO-HI, e.g. 10000-60000"))?;
    let lo: u16 = lo.trim().parse().map_err(|_| format!("{lo:?} is not a port (0-65535)"))?;
    let hi: u16 = hi.trim().parse().map_err(|_| format!("{hi:?} is not a port (0-65535)"))?;
    if lo > hi {
        return Err(format!("{lo} > {hi}: expected LO <= HI"));
    }
    Ok((lo, hi))
}

/// "Had this capture crossed a cross-connect of this tier": the policer's options.
#[derive(Debug, clap::Args)]
pub struct WhatIf {
    /// Run the frames through a tier's policer at their own timestamps: 10M, 100M, 500M or 1G.
    #[arg(long)]
    pub tier: Option<String>,
    /// Committed burst in bytes [default: 10 ms at the tier's rate, e.g. 125000 for 100M].
    #[arg(long, requires = "tier")]
    pub burst: Option<u64>,
    /// police: drop what does not conform; shape: queue it (adds delay, drops only when the
    /// queue is full).
    #[arg(long, value_enum, default_value_t = ModeArg::Police, requires = "tier")]
    pub mode: ModeArg,
    /// Shaper queue in bytes [default: twice the burst, 20 ms at the tier's rate].
    #[arg(long, requires = "tier")]
    pub buffer: Option<u64>,
    /// Policer algorithm: single-rate (the provider's edge), srtcm (RFC 2697), trtcm
    /// (RFC 2698) or mef (MEF 10.3). Three-color profiles pass yellow frames and report colors.
    #[arg(long, value_enum, default_value_t = ProfileArg::SingleRate, requires = "tier")]
    pub profile: ProfileArg,
    /// Excess rate in bit/s for trtcm (PIR − CIR) and mef (EIR).
    #[arg(long, default_value_t = 0, requires = "tier")]
    pub excess_rate: u64,
    /// Excess burst in bytes for srtcm (EBS), trtcm (PBS − CBS) and mef (EBS) [default: the
    /// burst].
    #[arg(long, requires = "tier")]
    pub excess_burst: Option<u64>,
    /// mef: coupling flag CF = 1 (green overflow feeds yellow).
    #[arg(long, requires = "tier")]
    pub coupled: bool,
    /// Bytes counted per frame: frame (destination MAC to FCS, as MEF counts; the capture's
    /// frame + 4), l2 (the frame without FCS, as Linux tc charges), ip (the IP packet), or
    /// wire (frame + preamble + inter-frame gap, + 20).
    #[arg(long, default_value = "frame", requires = "tier")]
    pub accounting: String,
    /// The provider's prefixes (repeatable): frames to them are policed as customer →
    /// provider, frames from them as provider → customer, each direction with its own bucket
    /// (the tier is full duplex) [default: the catalog's provider ranges, 168.86.128.0/18].
    #[arg(long, requires = "tier", conflicts_with = "customer_prefix")]
    pub provider_prefix: Vec<String>,
    /// The customer's prefixes instead (repeatable): frames from them are customer → provider.
    #[arg(long, requires = "tier")]
    pub customer_prefix: Vec<String>,
    /// Write the frames that passed to this pcap (nanosecond; written atomically).
    #[arg(long, requires = "tier")]
    pub write_passed: Option<PathBuf>,
    /// Write the frames that were dropped to this pcap.
    #[arg(long, requires = "tier")]
    pub write_dropped: Option<PathBuf>,
}

/// Police or shape.
/// `xconnect bgp` arguments.
#[derive(Debug, clap::Args)]
pub struct BgpArgs {
    /// Which side of the cross-connect to play: its import policy follows. provider: accept
    /// customer prefixes that are public, /8 to /24, with an AS_PATH starting with the peer's
    /// ASN and no other private ASN, at most --max-prefixes. customer: accept only the
    /// provider's prefixes (--accept).
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Address to listen on and to connect from, IP[:PORT] (port 179 by default).
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_endpoint)]
    pub local: std::net::SocketAddr,
    /// A neighbor, IP[:PORT] (port 179 by default). Repeat for several sessions.
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_endpoint, required = true)]
    pub peer: Vec<std::net::SocketAddr>,
    /// Our AS number.
    #[arg(long)]
    pub asn: u32,
    /// The neighbor's AS number: once for all neighbors or once per --peer, in order.
    #[arg(long, required = true)]
    pub peer_asn: Vec<u32>,
    /// Prefixes to announce at start.
    #[arg(long, num_args = 1.., value_name = "PFX")]
    pub announce: Vec<ipnet::Ipv4Net>,
    /// customer role: the provider's prefixes to accept (and their subnets).
    #[arg(long, num_args = 1.., value_name = "PFX", default_value = "168.86.128.0/18")]
    pub accept: Vec<ipnet::Ipv4Net>,
    /// provider role: accepted prefixes per session after which the session is closed with
    /// Cease / Maximum Number of Prefixes Reached.
    #[arg(long, default_value_t = xconnect_bgp::policy::PROVIDER_MAX_PREFIXES)]
    pub max_prefixes: usize,
    /// provider role: after closing a session for max-prefix, restart it after this many
    /// seconds [default: never by itself; `clear PEER` on stdin restarts it].
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub max_prefixes_restart: Option<u64>,
    /// The longest wait, seconds, before a session restarts after errors in a row (the wait
    /// starts at --connect-retry and doubles with each error: RFC 4271 DampPeerOscillations).
    #[arg(long, default_value_t = 300, value_name = "S", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_hold_max: u64,
    /// Hold time to propose, seconds (0, or at least 3). Keepalives go every third of the
    /// negotiated hold time.
    #[arg(long, default_value_t = 90, value_parser = parse_hold)]
    pub hold: u16,
    /// Seconds between connection attempts, and before a restart after an error.
    #[arg(long, default_value_t = 5)]
    pub connect_retry: u64,
    /// Our BGP identifier [default: the --local address].
    #[arg(long)]
    pub router_id: Option<std::net::Ipv4Addr>,
    /// Wait for neighbors to connect; never connect out.
    #[arg(long)]
    pub passive: bool,
    /// One JSON object per line on stdout per event (state changes, routes accepted and
    /// rejected with the reason, notifications sent and received).
    #[arg(long)]
    pub json_events: bool,
    /// Route events per prefix, or (summary, for full-table feeds) per UPDATE: accepted_batch
    /// and withdrawn_batch {peer, count, first, last}, sent_batch {peer, announced, withdrawn};
    /// rejected routes are reported one by one either way.
    #[arg(long, value_enum, default_value_t = EventsArg::PerPrefix)]
    pub events: EventsArg,
    /// TCP-MD5 (RFC 2385) with every neighbor, the key read from this file (1 to 80 bytes; one
    /// final newline is not part of it). A file, so that the key shows neither in `ps` nor in
    /// the environment.
    #[arg(long, value_name = "PATH")]
    pub tcp_md5_file: Option<std::path::PathBuf>,
    /// GTSM (RFC 5082): send with TTL 255 and drop what arrives with less than 255 (neighbors
    /// directly connected).
    #[arg(long)]
    pub ttl_security: bool,
    /// GTSM for neighbors N hops away: drop what arrives with a TTL below 256 - N (implies
    /// --ttl-security).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=255))]
    pub ttl_security_hops: Option<u8>,
    /// BFD (RFC 5880) with every neighbor: the interval we send at once up, the interval we
    /// accept packets at, in milliseconds, and the multiplier (e.g. 300,300,3: a neighbor
    /// heard from for 0.9 s is gone). Its Down brings the BGP session down at once.
    #[arg(long, value_name = "TX_MS,RX_MS,MULT", value_parser = parse_bfd)]
    pub bfd: Option<xconnect_bfd::Timers>,
    /// BFD over multihop UDP (port 4784, RFC 5883), as sessions between loopback addresses
    /// need, instead of single hop (port 3784, TTL 255, RFC 5881).
    #[arg(long, requires = "bfd")]
    pub bfd_multihop: bool,
}

fn parse_bfd(s: &str) -> Result<xconnect_bfd::Timers, String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [tx, rx, mult] = parts[..] else {
        return Err(format!("`{s}`: expected TX_MS,RX_MS,MULT, e.g. 300,300,3"));
    };
    let num =
        |what: &str, v: &str| v.trim().parse::<u64>().map_err(|_| format!("`{v}`: the {what} must be a whole number"));
    xconnect_bfd::Timers::new(num("transmit interval", tx)?, num("receive interval", rx)?, num("multiplier", mult)?)
}

/// How `xconnect bgp` reports routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventsArg {
    /// One event per prefix.
    PerPrefix,
    /// One event per UPDATE.
    Summary,
}

/// Which side of the cross-connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// The customer's border router.
    Customer,
    /// The provider's edge.
    Provider,
}

fn parse_endpoint(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(a) = s.parse::<std::net::SocketAddr>() {
        return Ok(a);
    }
    s.parse::<std::net::IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, 179))
        .map_err(|_| format!("`{s}` is not IP or IP:PORT"))
}

fn parse_hold(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(h) if h == 0 || h >= 3 => Ok(h),
        _ => Err(format!("hold time `{s}` must be 0 or 3-65535 seconds (RFC 4271 §4.2)")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Drop red frames.
    Police,
    /// Queue and delay.
    Shape,
}

/// Policer algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileArg {
    /// Single-rate two-color token bucket.
    SingleRate,
    /// RFC 2697 single-rate three-color marker.
    Srtcm,
    /// RFC 2698 two-rate three-color marker.
    Trtcm,
    /// MEF 10.3 bandwidth profile.
    Mef,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn intervals_read_with_their_unit_and_bounds() {
        use super::parse_interval;
        assert_eq!(parse_interval("100ms"), Ok(100_000_000));
        assert_eq!(parse_interval("1s"), Ok(1_000_000_000));
        assert_eq!(parse_interval("2.5"), Ok(2_500_000_000));
        for bad in ["0", "0.5ms", "-1s", "nan", "inf", "1e300", "86401s", "fast", ""] {
            let e = parse_interval(bad).unwrap_err();
            assert!(e.contains("expected"), "{bad}: {e}");
        }
    }
}
