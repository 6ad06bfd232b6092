//! `xconnect`: thin glue over the library crates.

mod cli;
mod output;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use xconnect_dataplane::replay::{replay_file, ReplayOptions};

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`xconnect replay f | head`) is not an error worth a message.
            if e.chain().any(|c| {
                c.downcast_ref::<io::Error>()
                    .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("xconnect: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Replay {
            file,
            json,
            allow_truncated,
            top,
        } => {
            let opts = ReplayOptions {
                top_flows: top,
                ..ReplayOptions::default()
            };
            let report = replay_file(&file, opts)?;
            let mut out = io::stdout().lock();
            if json {
                serde_json::to_writer(&mut out, &report).context("writing JSON")?;
                writeln!(out)?;
            } else {
                out.write_all(output::replay_text(&report).as_bytes())?;
            }
            out.flush()?;
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
