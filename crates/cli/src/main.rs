//! `xconnect`: thin glue over the library crates.

mod cli;
mod output;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use xconnect_capture::PcapWriter;
use xconnect_dataplane::police::{Mode, PoliceStage, PolicerConfig, Profile};
use xconnect_dataplane::replay::{replay_file, Outputs, ReplayOptions};
use xconnect_interconnect::Tier;

use crate::cli::{Cli, Command, ModeArg, ProfileArg, WhatIf};

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

fn police_stage(w: &WhatIf) -> anyhow::Result<Option<PoliceStage>> {
    let Some(tier) = &w.tier else { return Ok(None) };
    let tier: Tier = tier.parse().context("--tier")?;
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
    if burst < xconnect_interconnect::MAX_FRAME_BYTES {
        eprintln!(
            "xconnect: warning: --burst {burst} is below the largest Ethernet frame ({} bytes): every frame larger than the burst is red",
            xconnect_interconnect::MAX_FRAME_BYTES
        );
    }
    Ok(Some(PoliceStage::new(cfg).context("policer configuration")?))
}

fn create_output(path: Option<&std::path::Path>) -> anyhow::Result<Option<PcapWriter>> {
    path.map(|p| PcapWriter::create(p, 262_144).with_context(|| format!("cannot write {}", p.display()))).transpose()
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Replay { file, json, allow_truncated, top, whatif } => {
            let opts = ReplayOptions { top_flows: top, ..ReplayOptions::default() };
            // Everything is checked, and the outputs created, before the first frame is read.
            let police = police_stage(&whatif)?;
            let outputs = Outputs {
                passed: create_output(whatif.write_passed.as_deref())?,
                dropped: create_output(whatif.write_dropped.as_deref())?,
            };
            let (report, outputs) = replay_file(&file, opts, police, outputs)?;
            let mut out = io::stdout().lock();
            if json {
                serde_json::to_writer(&mut out, &report).context("writing JSON")?;
                writeln!(out)?;
            } else {
                out.write_all(output::replay_text(&report).as_bytes())?;
            }
            out.flush()?;
            let complete = report.error.is_none() || allow_truncated;
            if complete {
                for w in [outputs.passed, outputs.dropped].into_iter().flatten() {
                    let path = w.finish().context("finishing an output capture")?;
                    eprintln!("xconnect: wrote {}", path.display());
                }
            }
            if let Some(err) = &report.error {
                eprintln!(
                    "xconnect: {}: read {} frames, stopped at byte {}: {}",
                    file.display(),
                    report.frames,
                    err.offset,
                    err.message
                );
                if !allow_truncated {
                    return Ok(ExitCode::from(2));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
