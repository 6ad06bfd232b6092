//! Peak rate over fixed, back-to-back windows.

/// Tracks the busiest window of a fixed length. Windows are aligned to the first timestamp
/// seen: `[t0, t0 + w)`, `[t0 + w, t0 + 2w)`, ... A timestamp earlier than the current window
/// (a capture whose clock stepped back) is added to the current window, as if no time passed.
#[derive(Debug, Clone, Copy)]
pub struct PeakWindow {
    window_ns: u64,
    start_ns: Option<u64>,
    current_bytes: u64,
    peak_bytes: u64,
}

impl PeakWindow {
    /// A tracker for windows of `window_ns` nanoseconds.
    ///
    /// # Panics
    /// If `window_ns` is 0.
    pub fn new(window_ns: u64) -> Self {
        assert!(window_ns > 0, "window must be positive");
        PeakWindow { window_ns, start_ns: None, current_bytes: 0, peak_bytes: 0 }
    }

    /// Adds `bytes` at time `ts_ns`.
    #[inline]
    pub fn add(&mut self, ts_ns: u64, bytes: u64) {
        match self.start_ns {
            Some(start) if ts_ns < start.saturating_add(self.window_ns) => {}
            Some(start) => {
                self.peak_bytes = self.peak_bytes.max(self.current_bytes);
                self.current_bytes = 0;
                let k = (ts_ns - start) / self.window_ns;
                self.start_ns = Some(start + k * self.window_ns);
            }
            None => self.start_ns = Some(ts_ns),
        }
        self.current_bytes += bytes;
    }

    /// Bytes in the busiest window so far.
    pub fn peak_bytes(&self) -> u64 {
        self.peak_bytes.max(self.current_bytes)
    }

    /// The busiest window's rate in Mbit/s.
    pub fn peak_mbps(&self) -> f64 {
        self.peak_bytes() as f64 * 8.0 / (self.window_ns as f64 / 1e9) / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busiest_window_wins() {
        let mut w = PeakWindow::new(1_000_000); // 1 ms
        w.add(0, 100);
        w.add(999_999, 100); // same window: 200
        w.add(1_000_000, 50); // next window
        w.add(5_500_000, 300); // window [5 ms, 6 ms)
        w.add(5_999_999, 1);
        w.add(6_000_000, 1);
        assert_eq!(w.peak_bytes(), 301);
        // 301 bytes in 1 ms = 2.408 Mbit/s
        assert!((w.peak_mbps() - 2.408).abs() < 1e-9);
    }

    #[test]
    fn backwards_time_stays_in_current_window() {
        let mut w = PeakWindow::new(10);
        w.add(100, 1);
        w.add(50, 1);
        assert_eq!(w.peak_bytes(), 2);
    }
}
