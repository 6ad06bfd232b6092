//! `xconnect bgp`: wires the arguments, stdin commands and signals to the speaker in
//! `xconnect_bgp::speaker`, and prints its events.

use std::io::{self, BufRead, Read, Write};
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::{bail, Context};
use ipnet::Ipv4Net;
use xconnect_bgp::bfd_link::BfdConfig;
use xconnect_bgp::events::{self, Emitted, EventDetail, Events, RouteEvent, SpeakerEvent};
use xconnect_bgp::fsm::SessionConfig;
use xconnect_bgp::policy::{check_prefix, ImportPolicy, PROVIDER_MAX_LEN, PROVIDER_MIN_LEN};
use xconnect_bgp::protect::{Md5Key, Protection};
use xconnect_bgp::speaker::{self, Command, PeerSpec, SpeakerConfig};
use xconnect_time::Span;

use crate::cli::{BgpArgs, EventsArg, RoleArg};

pub fn run(a: BgpArgs) -> anyhow::Result<ExitCode> {
    if a.peer_asn.len() != 1 && a.peer_asn.len() != a.peer.len() {
        bail!(
            "give --peer-asn once for all neighbors or once per --peer ({} peers, {} ASNs)",
            a.peer.len(),
            a.peer_asn.len()
        );
    }
    let router_id = match (a.router_id, a.local.ip()) {
        (Some(id), _) => id,
        (None, IpAddr::V4(ip)) => ip,
        (None, IpAddr::V6(_)) => bail!("--router-id is needed when --local is IPv6"),
    };
    let json = a.json_events;
    // Each batch of events is formatted and written by a thread of its own, so that neither
    // the formatting nor a slow reader of stdout holds up the sessions' timers. At most
    // PRINT_QUEUE batches wait (a batch is one loop turn's events: memory stays bounded); past
    // that the speaker waits too rather than lose events. `t`: when the event happened, in
    // seconds since the speaker started.
    let (out_tx, out_rx) = mpsc::sync_channel::<Events>(PRINT_QUEUE);
    let printer = std::thread::spawn(move || {
        let mut out = io::stdout();
        let mut buf = Vec::with_capacity(1 << 20);
        for batch in out_rx {
            buf.clear();
            if json {
                events::write_json_lines(&batch, &mut buf);
            } else {
                for (at, e) in &batch {
                    let t = at.as_secs_f64();
                    match e {
                        Emitted::Event(e) => {
                            let _ = writeln!(buf, "[{t:9.3}] {}", human(e));
                        }
                        Emitted::Routes(run) => {
                            for e in run.events() {
                                let _ = writeln!(buf, "[{t:9.3}] {}", human_route(&e));
                            }
                        }
                    }
                }
            }
            // stdout may be a closed pipe; the speaker must still shut down cleanly.
            let _ = out.write_all(&buf);
            let _ = out.flush();
            // A withdrawn full table makes one huge batch: do not keep its buffer.
            if buf.capacity() > 4 << 20 {
                buf = Vec::with_capacity(1 << 20);
            }
        }
    });
    let print = move |batch: Events| {
        let _ = out_tx.send(batch);
    };
    for p in &a.announce {
        if let Err(r) = check_prefix(*p, PROVIDER_MIN_LEN, PROVIDER_MAX_LEN) {
            print(vec![(
                Span::ZERO,
                Emitted::Event(SpeakerEvent::Log {
                    peer: "local".into(),
                    message: format!("announcing {p}, which a provider would reject: {r}"),
                }),
            )]);
        }
    }
    let peers = a
        .peer
        .iter()
        .enumerate()
        .map(|(i, addr)| {
            let peer_asn = a.peer_asn[if a.peer_asn.len() == 1 { 0 } else { i }];
            let policy = match a.role {
                RoleArg::Provider => ImportPolicy::provider_with_limit(peer_asn, a.max_prefixes),
                RoleArg::Customer => ImportPolicy::Customer { provider_prefixes: a.accept.clone() },
            };
            PeerSpec {
                addr: *addr,
                session: SessionConfig {
                    hold_time: a.hold,
                    connect_retry: Span::from_secs(a.connect_retry.max(1)),
                    passive: a.passive,
                    idle_hold_max: Span::from_secs(a.idle_hold_max),
                    ..SessionConfig::new(a.asn, peer_asn, router_id)
                },
                policy,
                max_prefix_restart: a.max_prefixes_restart.map(Span::from_secs),
            }
        })
        .collect();
    let events = match a.events {
        EventsArg::PerPrefix => EventDetail::PerPrefix,
        EventsArg::Summary => EventDetail::Summary,
    };
    let protection = Protection {
        md5: a.tcp_md5_file.as_deref().map(Md5Key::read).transpose().map_err(anyhow::Error::msg)?,
        ttl_security_hops: a.ttl_security_hops.or(a.ttl_security.then_some(1)),
    };
    let bfd = a.bfd.map(|timers| BfdConfig { timers, multihop: a.bfd_multihop });
    let cfg = SpeakerConfig { listen: a.local, peers, announce: a.announce.clone(), events, protection, bfd };

    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing the signal handler")?;
    }
    let tx_sig = tx.clone();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = tx_sig.send(Command::Shutdown);
    });
    std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        let mut line = Vec::new();
        loop {
            // A line is read up to MAX_LINE bytes; the rest of a longer one is skipped.
            line.clear();
            let Ok(n) = Read::by_ref(&mut stdin).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line) else { break };
            if n == 0 {
                break;
            }
            if line.len() > MAX_LINE && !line.ends_with(b"\n") {
                eprintln!(
                    "xconnect bgp: a command line longer than {} MiB was skipped: give at most about 3 million \
                     prefixes per line",
                    MAX_LINE >> 20
                );
                let mut skip = Vec::new();
                while let Ok(k) = Read::by_ref(&mut stdin).take(1 << 20).read_until(b'\n', &mut skip) {
                    if k == 0 || skip.ends_with(b"\n") {
                        break;
                    }
                    skip.clear();
                }
                continue;
            }
            let Ok(line) = std::str::from_utf8(&line) else {
                eprintln!("xconnect bgp: a command line that is not UTF-8 was skipped");
                continue;
            };
            match parse_command(line) {
                Ok(Some(c)) => {
                    if tx.send(c).is_err() {
                        break;
                    }
                }
                Ok(None) => {}
                Err(e) => eprintln!("xconnect bgp: {e}"),
            }
        }
        // EOF on stdin is not a shutdown: the signal thread keeps the channel open.
    });
    speaker::run(cfg, rx, print).context("running the BGP speaker")?;
    // The speaker and with it the sender are gone: the printer writes what is left and ends.
    printer.join().expect("the printer does not panic");
    Ok(ExitCode::SUCCESS)
}

/// Batches of events waiting for stdout at most (each at most one loop turn's: a turn reads
/// 16 KiB, some 4,000 prefixes).
const PRINT_QUEUE: usize = 2;

/// The longest command line read from stdin (64 MiB: about 3.5 million prefixes).
const MAX_LINE: usize = 64 << 20;

fn parse_command(line: &str) -> anyhow::Result<Option<Command>> {
    let mut words = line.split_whitespace();
    let Some(verb) = words.next() else { return Ok(None) };
    let prefixes = |w: std::str::SplitWhitespace<'_>| -> anyhow::Result<Vec<Ipv4Net>> {
        let v = w
            .map(|p| p.parse::<Ipv4Net>().with_context(|| format!("`{p}` is not an IPv4 prefix")))
            .collect::<Result<Vec<_>, _>>()?;
        if v.is_empty() {
            bail!("`{verb}` needs at least one prefix");
        }
        // Sorted and deduplicated here, on the stdin thread, in O(n log n): the speaker's loop
        // only applies the list.
        let mut v = v;
        v.sort_unstable();
        v.dedup();
        Ok(v)
    };
    Ok(Some(match verb {
        "announce" => Command::Announce(prefixes(words)?),
        "withdraw" => Command::Withdraw(prefixes(words)?),
        "routes" => Command::ShowRoutes,
        "clear" => {
            let ip = words.next().context("`clear` needs the neighbor's address, e.g. clear 192.0.2.1")?;
            Command::Clear(ip.parse().with_context(|| format!("`{ip}` is not an IP address"))?)
        }
        "shutdown" | "quit" => Command::Shutdown,
        other => bail!("unknown command `{other}`: expected announce, withdraw, routes, clear or shutdown"),
    }))
}

fn human_route(e: &RouteEvent) -> String {
    match e {
        RouteEvent::Accepted { peer, prefix, as_path, next_hop, best } => {
            format!("{peer} accepted {prefix} path [{as_path}] via {next_hop}{}", if *best { " (best)" } else { "" })
        }
        RouteEvent::Withdrawn { peer, prefix } => format!("{peer} withdrew {prefix}"),
    }
}

fn human(e: &SpeakerEvent) -> String {
    match e {
        SpeakerEvent::Listening { address } => format!("listening on {address}"),
        SpeakerEvent::State { peer, from, to } => format!("{peer} {from} -> {to}"),
        SpeakerEvent::Open { peer, asn, hold, router_id, capabilities } => {
            format!("{peer} OPEN AS{asn} hold {hold} s id {router_id} [{}]", capabilities.join(" "))
        }
        SpeakerEvent::Rejected { peer, prefix, detail, .. } => format!("{peer} REJECTED {prefix}: {detail}"),
        SpeakerEvent::Sent { peer, announced, withdrawn } => {
            let words = |ps: &[Ipv4Net]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" ");
            format!("{peer} sent: announce [{}] withdraw [{}]", words(announced), words(withdrawn))
        }
        SpeakerEvent::NotificationSent { peer, code, subcode, meaning, reason } => {
            format!("{peer} NOTIFICATION sent {code}/{subcode} {meaning}: {reason}")
        }
        SpeakerEvent::NotificationReceived { peer, code, subcode, meaning } => {
            format!("{peer} NOTIFICATION received {code}/{subcode} {meaning}")
        }
        SpeakerEvent::Log { peer, message } => format!("{peer} {message}"),
        SpeakerEvent::Route { prefix, peer, as_path, next_hop } => {
            format!("route {prefix} via {next_hop} from {peer} path [{as_path}]")
        }
        SpeakerEvent::AcceptedBatch { peer, count, first, last, as_path, next_hop } => {
            format!("{peer} accepted {count} prefixes {first} .. {last} path [{as_path}] via {next_hop}")
        }
        SpeakerEvent::WithdrawnBatch { peer, count, first, last } => {
            format!("{peer} withdrew {count} prefixes {first} .. {last}")
        }
        SpeakerEvent::SentBatch { peer, announced, withdrawn } => {
            format!("{peer} sent: {announced} announced, {withdrawn} withdrawn")
        }
        SpeakerEvent::GracefulRestart { peer, stale, restart_time_s } => {
            format!("{peer} restarting gracefully: {stale} routes kept stale for {restart_time_s} s at most")
        }
        SpeakerEvent::RestartDone { peer, withdrawn } => {
            format!("{peer} restart done: {withdrawn} stale routes withdrawn")
        }
        SpeakerEvent::BfdState { peer, from, to, diag } => format!("{peer} BFD {from} -> {to} ({diag})"),
        SpeakerEvent::Stopped => "stopped".into(),
    }
}
