//! Integration tests: one binary, one module per concern (ripgrep's layout).

mod util;

mod architecture;
mod bad_input;
mod bgp;
mod bgp_replay;
mod browser;
mod differential;
mod fit;
mod onboarding;
mod oracle;
mod replay_cli;
mod replay_shards;
mod series;
mod simulate;
mod sip;
mod tshark;
mod voice;
mod whatif;
