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
    Replay {
        /// The capture file (pcap or pcapng, detected from its magic number).
        file: PathBuf,
        /// Print one JSON object on stdout instead of tables (schema in the README).
        #[arg(long)]
        json: bool,
        /// Exit 0 even when the file stops early or is corrupt part-way.
        #[arg(long)]
        allow_truncated: bool,
        /// How many flows to list, busiest by bytes first.
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
