//! `xconnect`: thin glue over the library crates.

mod bgp;
mod cli;
mod html;
mod live;
mod output;
mod progress;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use xconnect_capture::PcapWriter;
use xconnect_dataplane::pipeline::{replay_file_with_progress, Outputs};
use xconnect_dataplane::police::{Duplex, Mode, PolicerConfig, Profile, Sides};
use xconnect_dataplane::replay::{self, ReplayOptions};
use xconnect_interconnect::Tier;
use xconnect_sim::budget::{Limits, Work, DEFAULT_MAX_FRAMES};
use xconnect_sim::plan;
use xconnect_sim::scenario::Scenario;
use xconnect_sim::sim::{capacity, simulate, CapacityAsk};

use xconnect_frame::LinkType;
use xconnect_trafgen::generate::{customer_addresses, GenerateAsk, Generator, Signalling, GENERATE_EPOCH_NS};
use xconnect_trafgen::{CallPlan, Codec, Directions, Phase};

use crate::cli::{Cli, Command, FitArgs, GenerateArgs, ModeArg, PhaseArg, ProfileArg, WhatIf};
use crate::progress::Unit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`xconnect replay f | head`) is not an error worth a message.
            if e.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe))
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("xconnect: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `--threads`: at least 1, and no more than the cores (more only adds stacks and switches).
fn threads_for(asked: Option<usize>) -> anyhow::Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match asked {
        None => Ok(cores),
        Some(0) => anyhow::bail!("--threads 0: expected at least 1"),
        Some(n) if n > cores => {
            eprintln!("xconnect: note: --threads {n} capped at the {cores} cores this machine offers");
            Ok(cores)
        }
        Some(n) => Ok(n),
    }
}

/// On SIGINT or SIGTERM, removes the temporary files of unfinished outputs and exits (128 +
/// the signal, as a shell reports it): no half-written hidden file stays behind.
fn clean_up_on_signal() -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).context("installing the signal handler")?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            xconnect_capture::remove_unfinished();
            std::process::exit(128 + sig);
        }
    });
    Ok(())
}

fn validate(path: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    use xconnect_interconnect::request;
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {file}"))?;
    let result = request::validate(&text, &file);
    let notes: Vec<String> = match &result {
        Ok(r) if r.asn.is_none() => {
            vec!["no ASN given: the provider assigns a private ASN from its 65000 range once the link is up".into()]
        }
        _ => Vec::new(),
    };
    let (ok, problems, req) = match result {
        Ok(r) => (true, Vec::new(), Some(r)),
        Err(e) => (false, e.problems, None),
    };
    let value = serde_json::json!({ "file": file, "valid": ok, "problems": problems, "request": req, "notes": notes });
    emit(json, &value, || {
        let mut s = String::new();
        if ok {
            let r = req.as_ref().expect("valid");
            s += &format!(
                "{file}: valid: {} in {}, {} route(s), {}\n",
                r.tier.name(),
                r.location,
                r.routes.len(),
                r.asn.map_or("no ASN".to_string(), |a| format!("AS{a}"))
            );
        } else {
            s += &format!("{file}: {} problem(s):\n", problems.len());
            for p in &problems {
                s += &format!("  line {}: {}: {}\n", p.line, p.field, p.message);
            }
        }
        for n in &notes {
            s += &format!("note: {n}\n");
        }
        s
    })?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn generate(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let GenerateArgs {
        calls,
        seconds,
        codec,
        ptime,
        vlan,
        phase,
        both_directions,
        seed,
        silence_suppression,
        customer_prefix,
        sip,
        comfort_noise,
        dtmf_share,
        t38_share,
        output,
        iface,
        json,
        max_frames,
        scenario,
        site,
    } = args;
    let signalling =
        Signalling { sip: *sip, comfort_noise: *comfort_noise, dtmf_share: *dtmf_share, t38_share: *t38_share };
    // clap does not enforce `requires` beside the scenario's conflicts: said here.
    if site.is_some() && scenario.is_none() {
        anyhow::bail!("--site names a site of --scenario: give the scenario too");
    }
    let (mut generator, work) = match scenario {
        Some(path) => scenario_generator(path, site.as_deref(), customer_prefix, signalling)?,
        None => {
            let ask = GenerateAsk {
                calls: calls.expect("clap: --calls unless --scenario"),
                seconds: seconds.expect("clap: --seconds unless --scenario"),
                codec: codec.parse().context("--codec")?,
                ptime_ms: *ptime,
                vlan: *vlan,
                phase: match phase {
                    PhaseArg::Random => Phase::Random,
                    PhaseArg::Sync => Phase::Sync,
                },
                both_directions: *both_directions,
                seed: *seed,
                silence_suppression: *silence_suppression,
                customer_prefix: customer_prefix.clone(),
                sip: *sip,
                comfort_noise: *comfort_noise,
                dtmf_share: *dtmf_share,
                t38_share: *t38_share,
            };
            let (generator, plan) = Generator::new(&ask).map_err(anyhow::Error::msg)?;
            (generator, Work::generate(plan.calls, plan.duration_ns, plan.ptime_ms, plan.directions, *sip))
        }
    };
    work.check(&Limits::of_machine(max_frames.unwrap_or(DEFAULT_MAX_FRAMES)))?;
    if let Some(iface) = iface {
        return live::send_generated(iface, |buf| generator.next_into(buf), *json);
    }
    let output = output.as_ref().expect("clap: --output unless --iface");
    clean_up_on_signal()?;
    // Checked before generating: the output's directory must be writable.
    let mut w = PcapWriter::create(output, 65535).with_context(|| format!("cannot write {}", output.display()))?;
    let mut buf = vec![0u8; xconnect_trafgen::dialog::MAX_FRAME];
    let mut frames = 0u64;
    while let Some((ts, len)) = generator.next_into(&mut buf) {
        w.write_packet(ts, LinkType::Ethernet, &buf[..len], len as u32)
            .with_context(|| format!("writing {}", output.display()))?;
        frames += 1;
    }
    let path = w.finish().with_context(|| format!("finishing {}", output.display()))?;
    eprintln!("xconnect: wrote {frames} frames to {}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn police_stage(w: &WhatIf) -> anyhow::Result<Option<Duplex>> {
    let Some(tier) = &w.tier else { return Ok(None) };
    let tier: Tier = tier.parse().context("--tier")?;
    // Options that mean nothing for the chosen profile or mode are mistakes, not no-ops.
    let profile_name =
        clap::ValueEnum::to_possible_value(&w.profile).map_or(String::new(), |v| v.get_name().to_string());
    if w.excess_rate != 0 && matches!(w.profile, ProfileArg::SingleRate | ProfileArg::Srtcm) {
        anyhow::bail!("--excess-rate applies to --profile trtcm or mef, not {profile_name} (which has one rate)");
    }
    if w.excess_burst.is_some() && w.profile == ProfileArg::SingleRate {
        anyhow::bail!(
            "--excess-burst applies to --profile srtcm, trtcm or mef, not single-rate (which has one bucket)"
        );
    }
    if w.coupled && w.profile != ProfileArg::Mef {
        anyhow::bail!("--coupled applies to --profile mef only, not {profile_name}");
    }
    if w.buffer.is_some() && w.mode != ModeArg::Shape {
        anyhow::bail!("--buffer is the shaper's queue: it applies to --mode shape only");
    }
    for (flag, v) in [("--burst", w.burst), ("--excess-burst", w.excess_burst), ("--buffer", w.buffer)] {
        if let Some(b) = v {
            if b == 0 || b > xconnect_policer::MAX_BURST_BYTES {
                anyhow::bail!("{flag} {b}: expected 1 to {} bytes", xconnect_policer::MAX_BURST_BYTES);
            }
        }
    }
    let burst = w.burst.unwrap_or(tier.default_burst_bytes());
    let cfg = PolicerConfig {
        rate_bps: tier.rate_bps(),
        burst_bytes: burst,
        excess_rate_bps: w.excess_rate,
        excess_burst_bytes: w.excess_burst.unwrap_or(burst),
        profile: match w.profile {
            ProfileArg::SingleRate => Profile::SingleRate,
            ProfileArg::Srtcm => Profile::SrTcm,
            ProfileArg::Trtcm => Profile::TrTcm,
            ProfileArg::Mef => Profile::Mef { coupled: w.coupled },
        },
        accounting: w.accounting.parse().map_err(anyhow::Error::msg).context("--accounting")?,
        mode: match w.mode {
            ModeArg::Police => Mode::Police,
            ModeArg::Shape => Mode::Shape { buffer_bytes: w.buffer.unwrap_or(2 * burst) },
        },
    };
    for w in cfg.warnings() {
        eprintln!("xconnect: warning: {w}");
    }
    let (sides, _) = sides(&w.customer_prefix, &w.provider_prefix)?;
    Ok(Some(Duplex::new(cfg, sides).context("policer configuration")?))
}

/// The sides of the cross-connect from `--customer-prefix` or `--provider-prefix` (else the
/// catalog's provider ranges, and `true`), for the policer's what-if and for `fit` alike.
fn sides(customer: &[String], provider: &[String]) -> anyhow::Result<(Sides, bool)> {
    let parse = |flag: &str, list: &[String]| -> anyhow::Result<Vec<ipnet::IpNet>> {
        list.iter().map(|p| prefix(flag, p)).collect()
    };
    Ok(if !customer.is_empty() {
        (Sides::Customer(parse("--customer-prefix", customer)?), false)
    } else if !provider.is_empty() {
        (Sides::Provider(parse("--provider-prefix", provider)?), false)
    } else {
        let defaults: Vec<String> = xconnect_interconnect::PROVIDER_PREFIXES.iter().map(|p| p.to_string()).collect();
        (Sides::Provider(parse("the catalog's provider prefix", &defaults)?), true)
    })
}

/// One prefix of a flag, its host bits clear.
fn prefix(flag: &str, p: &str) -> anyhow::Result<ipnet::IpNet> {
    let net: ipnet::IpNet = p
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{flag} {p:?}: expected an IPv4 or IPv6 prefix such as 168.86.128.0/18"))?;
    if net.trunc() != net {
        anyhow::bail!("{flag} {p}: host bits are set (did you mean {}?)", net.trunc());
    }
    Ok(net)
}

/// `--site-prefix NAME=PREFIX`, each name given once.
fn site_prefixes(list: &[String]) -> anyhow::Result<Vec<(String, ipnet::IpNet)>> {
    let mut out: Vec<(String, ipnet::IpNet)> = Vec::new();
    for item in list {
        let (name, p) = item.split_once('=').filter(|(n, _)| !n.trim().is_empty()).ok_or_else(|| {
            anyhow::anyhow!("--site-prefix {item:?}: expected NAME=PREFIX, e.g. ashburn=45.64.0.0/23")
        })?;
        let name = name.trim().to_string();
        if out.iter().any(|(n, _)| *n == name) {
            anyhow::bail!("--site-prefix {item:?}: the site {name:?} is named twice");
        }
        out.push((name, prefix("--site-prefix", p)?));
    }
    Ok(out)
}

/// `xconnect fit`.
fn fit(args: &FitArgs) -> anyhow::Result<ExitCode> {
    let FitArgs {
        capture,
        customer_prefix,
        provider_prefix,
        output,
        growth,
        busy_hour,
        tier,
        location,
        site_prefix,
        json,
        threads,
    } = args;
    let opts = xconnect_fit::FitOptions {
        sides: {
            let (prefixes, defaulted) = sides(customer_prefix, provider_prefix)?;
            xconnect_fit::sides::Sides::new(&prefixes, defaulted)
        },
        growth_pct: *growth,
        busy_hour: *busy_hour,
        tier: tier.as_deref().map(str::parse::<Tier>).transpose().map_err(anyhow::Error::msg).context("--tier")?,
        location: location
            .as_deref()
            .map(str::parse::<xconnect_interconnect::Location>)
            .transpose()
            .map_err(anyhow::Error::msg)
            .context("--location")?,
        site_prefixes: site_prefixes(site_prefix)?,
        threads: threads_for(*threads)?.min(replay::MAX_THREADS),
    };
    // `-o -` is standard output, where the scenario goes without -o.
    let output = output.as_deref().filter(|p| p.as_os_str() != "-");
    check_outputs(&[("capture", capture.as_path())], &[("--output", output)])?;
    let out = output
        .map(|p| {
            xconnect_capture::OutputFile::create(p, ".toml.tmp").with_context(|| format!("--output {}", p.display()))
        })
        .transpose()?;
    let fit = xconnect_fit::fit(capture, &opts)?;
    match out {
        Some(mut f) => {
            let target = f.target().display().to_string();
            f.write_all(fit.scenario.as_bytes()).with_context(|| format!("writing {target}"))?;
            let path = f.finish().with_context(|| format!("finishing {target}"))?;
            eprintln!("xconnect: wrote the fitted scenario {}", path.display());
            emit(*json, &fit, || output::fit_text(&fit))?;
        }
        None if *json => emit(true, &fit, String::new)?,
        None => emit(false, &fit, || fit.scenario.clone())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// What a path names, as a file: an existing file by its device and inode (so that a link or
/// a second name of it is the same file), one not there yet by its directory's canonical path
/// joined with its name. `None` for what is written in place and never replaced: `-`, a
/// character device, a FIFO.
#[derive(Debug, PartialEq, Eq)]
enum FileId {
    Inode(u64, u64),
    New(std::path::PathBuf),
}

fn file_identity(p: &std::path::Path) -> Option<FileId> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    if p.as_os_str() == "-" {
        return None;
    }
    match std::fs::metadata(p) {
        Ok(m) if m.file_type().is_char_device() || m.file_type().is_fifo() => None,
        Ok(m) => Some(FileId::Inode(m.dev(), m.ino())),
        Err(_) => {
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            Some(FileId::New(std::fs::canonicalize(dir).ok()?.join(p.file_name()?)))
        }
    }
}

/// No output of a run may name an input or another output: an output is renamed over its
/// file at the end, so it would destroy the file being read, or one output would silently
/// replace the other. Checked before anything is created.
fn check_outputs(
    inputs: &[(&str, &std::path::Path)],
    outputs: &[(&str, Option<&std::path::Path>)],
) -> anyhow::Result<()> {
    let outs: Vec<(&str, &std::path::Path, FileId)> =
        outputs.iter().filter_map(|&(flag, p)| p.and_then(|p| file_identity(p).map(|id| (flag, p, id)))).collect();
    for (i, (flag, p, id)) in outs.iter().enumerate() {
        for (what, input) in inputs {
            if file_identity(input).as_ref() == Some(id) {
                anyhow::bail!(
                    "{flag} {}: the same file as the {what} being read; an output is written to a new file and would replace it",
                    p.display()
                );
            }
        }
        if let Some((other, q, _)) = outs[..i].iter().find(|o| &o.2 == id) {
            anyhow::bail!(
                "{other} {} and {flag} {} name the same file: one output would replace the other; give each its own",
                q.display(),
                p.display()
            );
        }
    }
    Ok(())
}

fn create_output(path: Option<&std::path::Path>) -> anyhow::Result<Option<PcapWriter>> {
    path.map(|p| PcapWriter::create(p, 262_144).with_context(|| format!("cannot write {}", p.display()))).transpose()
}

/// Writes one JSON object (one line), or the text, to stdout.
fn emit<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
    // Buffered: stdout's own line buffering would look for a newline in every small write
    // serde makes.
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    if json {
        serde_json::to_writer(&mut out, value).context("writing JSON")?;
        writeln!(out)?;
    } else {
        out.write_all(text().as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Simulate { scenario, json, seconds, threads, max_frames, report: report_path, interval } => {
            let mut sc = match &scenario {
                Some(path) => Scenario::load(path)?,
                None => Scenario::default_scenario(),
            };
            if let Some(s) = seconds {
                if !(s > 0.0 && s <= 86_400.0) {
                    anyhow::bail!("--seconds {s}: expected more than 0 and at most 86400 (one day)");
                }
                sc.duration = xconnect_time::Span((s * 1e9) as u64);
            }
            sc.interval = interval.map(xconnect_time::Span);
            let work = Work::simulate(&sc);
            work.check(&Limits::of_machine(max_frames.unwrap_or(DEFAULT_MAX_FRAMES)))?;
            let threads = threads_for(threads)?;
            let inputs: Vec<(&str, &std::path::Path)> = scenario.iter().map(|p| ("scenario", p.as_path())).collect();
            check_outputs(&inputs, &[("--report", report_path.as_deref())])?;
            let html = report_path.as_deref().map(html::ReportFile::create).transpose()?;
            let (iv, widened) = sc.series_interval();
            if widened && interval.is_some() {
                eprintln!(
                    "xconnect: note: --interval widened to {} s to keep each series at {} points or fewer",
                    iv as f64 / 1e9,
                    xconnect_dataplane::series::MAX_POINTS
                );
            }
            let started = std::time::Instant::now();
            let report =
                progress::run_with_progress(!json, work.frames, Unit::Frames, |done| simulate(&sc, threads, done));
            let elapsed = started.elapsed().as_secs_f64();
            emit(json, &report, || {
                format!(
                    "{}\n{} frames simulated in {elapsed:.2} s of wall time ({:.1} M frames/s, {threads} threads)\n",
                    output::sim_text(&report),
                    report.frames,
                    report.frames as f64 / elapsed / 1e6
                )
            })?;
            if let Some(h) = html {
                h.finish(&html::simulate::render(&report))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate(args) => generate(&args),
        Command::Bgp(args) => bgp::run(args),
        Command::Validate { request, json } => validate(&request, json),
        Command::Fit(args) => fit(&args),
        Command::Plan { calls, busy_hour_erlangs, blocking, codec, ptime, sites, locations, table, json } => {
            let codec: Codec = codec.parse().context("--codec")?;
            codec.check_ptime(ptime).context("--ptime")?;
            if table {
                emit(json, &output::plan_json(codec, ptime), || output::plan_table(codec, ptime))?;
                return Ok(ExitCode::SUCCESS);
            }
            let (calls, traffic) = match (calls, busy_hour_erlangs, blocking) {
                (Some(0), _, _) => anyhow::bail!("--calls must be at least 1"),
                (Some(c), _, _) => (c, None),
                (None, Some(e), Some(b)) => {
                    if !(e > 0.0 && e < 1e6) {
                        anyhow::bail!("--busy-hour-erlangs {e:?}: expected more than 0 and under 1,000,000");
                    }
                    if !(b > 0.0 && b < 1.0) {
                        anyhow::bail!("--blocking {b:?}: expected a probability between 0 and 1, e.g. 0.01");
                    }
                    (plan::trunks_for(e, b), Some((e, b)))
                }
                _ => anyhow::bail!("give --calls N, or --busy-hour-erlangs E with --blocking B (or --table)"),
            };
            if sites == 0 {
                anyhow::bail!("--sites 0: expected at least 1 site (2 or more for redundancy)");
            }
            if sites > xconnect_interconnect::Location::ALL.len() {
                anyhow::bail!(
                    "--sites {sites}: the provider sells cross-connects in {} locations, and each site needs its own",
                    xconnect_interconnect::Location::ALL.len()
                );
            }
            let acceptable = plan::parse_locations(&locations).map_err(anyhow::Error::msg).context("--locations")?;
            let p = plan::plan(calls, traffic, codec, ptime, sites, &acceptable);
            emit(json, &p, || output::plan_text(&p))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Capacity {
            tier,
            codec,
            ptime,
            phase,
            burst,
            loss_target,
            seconds,
            max_frames,
            json,
            report: report_path,
        } => {
            let ask = CapacityAsk {
                tier: tier.parse().context("--tier")?,
                codec: codec.parse().context("--codec")?,
                ptime_ms: ptime,
                sync: phase == PhaseArg::Sync,
                burst_bytes: burst,
                loss_target_pct: loss_target,
                seconds,
            };
            let sc = ask.scenario().map_err(anyhow::Error::msg)?;
            let work = Work::capacity(&sc);
            work.check(&Limits::of_machine(max_frames.unwrap_or(DEFAULT_MAX_FRAMES)))?;
            let html = report_path.as_deref().map(html::ReportFile::create).transpose()?;
            let report = progress::run_with_progress(!json, work.frames, Unit::Frames, |done| capacity(&sc, done));
            emit(json, &report, || output::capacity_text(&report))?;
            if let Some(h) = html {
                h.finish(&html::capacity::render(&report))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            file,
            iface,
            seconds,
            write,
            to_iface,
            speed,
            loops,
            json,
            allow_truncated,
            top,
            report: report_path,
            interval,
            rtp_rows,
            rtp_port_range,
            threads,
            whatif,
        } => {
            if let Some(port) = to_iface {
                let file = file.expect("clap: --to-iface needs the file");
                return live::send_capture(&file, &port, speed.unwrap_or(1.0), loops.unwrap_or(1), json);
            }
            let mut threads = threads_for(threads)?;
            if threads > replay::MAX_THREADS {
                eprintln!(
                    "xconnect: note: replay uses at most {} threads (every one reads every frame)",
                    replay::MAX_THREADS
                );
                threads = replay::MAX_THREADS;
            }
            let opts = ReplayOptions {
                top_flows: top,
                rtp_port_range,
                threads,
                interval_ns: interval,
                ..ReplayOptions::default()
            };
            // Everything is checked, and the outputs created, before the first frame is read.
            let police = police_stage(&whatif)?;
            let live = match iface.as_deref() {
                Some(name) => {
                    if let Some(s) = seconds {
                        if !(s.is_finite() && s > 0.0 && s <= 86_400.0) {
                            anyhow::bail!("--seconds {s}: expected more than 0 and at most 86400 (one day)");
                        }
                    }
                    Some((name, live::open("--iface", name, xconnect_capture::port::Role::Receive)?))
                }
                None => None,
            };
            let stop = if live.is_some() {
                Some(live::stop_flag()?)
            } else {
                if whatif.write_passed.is_some() || whatif.write_dropped.is_some() {
                    clean_up_on_signal()?;
                }
                None
            };
            let inputs: Vec<(&str, &std::path::Path)> = file.iter().map(|f| ("capture", f.as_path())).collect();
            check_outputs(
                &inputs,
                &[
                    ("--write-passed", whatif.write_passed.as_deref()),
                    ("--write-dropped", whatif.write_dropped.as_deref()),
                    ("--report", report_path.as_deref()),
                    ("--write", write.as_deref()),
                ],
            )?;
            let outputs = Outputs {
                passed: create_output(whatif.write_passed.as_deref())?,
                dropped: create_output(whatif.write_dropped.as_deref())?,
                received: create_output(write.as_deref())?,
            };
            let html = report_path.as_deref().map(html::ReportFile::create).transpose()?;
            let (report, outputs) = match (live, stop) {
                (Some((name, mut port)), Some(stop)) => {
                    let listen = xconnect_dataplane::live::Listen {
                        seconds: seconds.map(std::time::Duration::from_secs_f64),
                        interval: interval.map(std::time::Duration::from_nanos),
                    };
                    eprintln!("xconnect: listening on {name}");
                    xconnect_dataplane::live::replay_port(
                        &mut port,
                        opts,
                        police,
                        outputs,
                        listen,
                        &stop,
                        live::listen_line,
                    )?
                }
                _ => {
                    let file = file.as_ref().expect("clap: a file unless --iface");
                    // Progress in bytes of a regular file (a pipe's size is not known).
                    let size = std::fs::metadata(file).ok().filter(|m| m.is_file()).map_or(0, |m| m.len());
                    let (report, outputs) =
                        progress::run_with_progress(!json && size > 0, size, Unit::Bytes, |done| {
                            replay_file_with_progress(file, opts, police, outputs, done)
                        })?;
                    (report, outputs)
                }
            };
            emit(json, &report, || output::replay_text(&report, rtp_rows))?;
            if let Some(h) = html {
                h.finish(&html::replay::render(&report))?;
            }
            let complete = report.error.is_none() || allow_truncated;
            if complete {
                for w in [outputs.passed, outputs.dropped, outputs.received].into_iter().flatten() {
                    let path = w.finish().context("finishing an output capture")?;
                    eprintln!("xconnect: wrote {}", path.display());
                }
            }
            if let Some(err) = &report.error {
                eprintln!(
                    "xconnect: {}: read {} frames, stopped at byte {}: {}",
                    report.file, report.frames, err.offset, err.message
                );
                if !allow_truncated {
                    return Ok(ExitCode::from(2));
                }
            }
            if report.live.as_ref().is_some_and(|l| l.ended == replay::LiveEnd::LinkDown) {
                eprintln!("xconnect: {}: the link went down: the report covers the frames before", report.file);
                return Ok(ExitCode::from(2));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `generate --scenario`: the calls of one site of the scenario, both directions, as
/// `simulate` offers them (the same seed per site, so the same arrivals, holding times and
/// phases), from [`GENERATE_EPOCH_NS`]; the work estimated as `simulate` estimates it.
fn scenario_generator(
    path: &std::path::Path,
    site: Option<&str>,
    customer_prefix: &str,
    signalling: Signalling,
) -> anyhow::Result<(Generator, Work)> {
    let sc = Scenario::load(path)?;
    let names = || sc.sites.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
    let index = match site {
        Some(name) => sc.sites.iter().position(|s| s.name == name).ok_or_else(|| {
            anyhow::anyhow!("--site {name:?}: {} has no such site; its sites: {}", path.display(), names())
        })?,
        None if sc.sites.len() == 1 => 0,
        None => anyhow::bail!(
            "{} has {} sites ({}): name one with --site; each site's calls cross its own link",
            path.display(),
            sc.sites.len(),
            names()
        ),
    };
    if signalling.comfort_noise && !sc.traffic.classes().iter().any(|c| c.silence_suppression) {
        anyhow::bail!("--comfort-noise fills the pauses of silence suppression: no class of {} has it", path.display());
    }
    let addresses = customer_addresses(customer_prefix).map_err(anyhow::Error::msg)?;
    let s = &sc.sites[index];
    let seed = sc.run_seed(index);
    // The scenario's times run from 0; the capture's from the epoch.
    let plans: Vec<_> = sc
        .call_plans(s.calls, Directions::Both, seed, 0, addresses)
        .into_iter()
        .map(|p| CallPlan { start_ns: GENERATE_EPOCH_NS, ..p })
        .collect();
    let work = Work::generate_site(&sc, s.calls, signalling.sip);
    let generator = Generator::of_plans(&plans, signalling).map_err(anyhow::Error::msg)?;
    Ok((generator, work))
}
