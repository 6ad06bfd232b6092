//! A progress bar on stderr for long runs: shown only on a terminal, only once a run has taken
//! a second, and cleared at the end (hyperfine's and ripgrep's manners).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// What a run counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Frames simulated.
    Frames,
    /// Bytes of a file read.
    Bytes,
}

/// Runs `work`, which keeps what it has done in the counter it is given, with a bar of `total`
/// `unit`s when `wanted` and stderr is a terminal and `TERM=dumb` does not say otherwise.
pub fn run_with_progress<T: Send>(
    wanted: bool,
    total: u64,
    unit: Unit,
    work: impl FnOnce(&AtomicU64) -> T + Send,
) -> T {
    let show = wanted && std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
    let done = AtomicU64::new(0);
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        if show {
            s.spawn(|| {
                for _ in 0..10 {
                    if finished.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let bar = ProgressBar::new(total.max(1));
                bar.set_style(
                    ProgressStyle::with_template(match unit {
                        Unit::Frames => {
                            "{elapsed_precise} [{bar:40}] {percent:>3}% {human_pos}/{human_len} frames, eta {eta}"
                        }
                        Unit::Bytes => {
                            "{elapsed_precise} [{bar:40}] {percent:>3}% {binary_bytes}/{binary_total_bytes}, eta {eta}"
                        }
                    })
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                while !finished.load(Ordering::Relaxed) {
                    bar.set_position(done.load(Ordering::Relaxed).min(total));
                    std::thread::sleep(Duration::from_millis(100));
                }
                bar.finish_and_clear();
            });
        }
        let out = work(&done);
        finished.store(true, Ordering::Relaxed);
        out
    })
}
