//! Rate limiting for log lines a peer can trigger at will (malformed or unknown messages): the
//! first few of every window are logged, the rest only counted and summarised once the window ends.

use std::time::{Duration, Instant};

/// How many lines of one kind pass per window by default.
pub const DEFAULT_BURST: u32 = 5;

/// The default window length.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);

/// What to do with one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Log it. `suppressed` occurrences of the previous window were not logged: say so first
    /// (zero when nothing was held back).
    Log {
        /// Occurrences counted but not logged in the window that just ended.
        suppressed: u64,
    },
    /// Count it without logging.
    Suppress,
}

/// Lets `burst` occurrences through per `window` and counts the rest.
#[derive(Debug, Clone)]
pub struct LogLimiter {
    burst: u32,
    window: Duration,
    window_start: Option<Instant>,
    passed: u32,
    suppressed: u64,
}

impl Default for LogLimiter {
    fn default() -> Self {
        Self::new(DEFAULT_BURST, DEFAULT_WINDOW)
    }
}

impl LogLimiter {
    /// A limiter logging at most `burst` occurrences per `window`.
    pub fn new(burst: u32, window: Duration) -> Self {
        Self {
            burst,
            window,
            window_start: None,
            passed: 0,
            suppressed: 0,
        }
    }

    /// The window length, for summaries ("… in the last 10 s").
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Decides about one occurrence now.
    pub fn check(&mut self) -> Verdict {
        self.check_at(Instant::now())
    }

    /// Decides about one occurrence at `now`.
    pub fn check_at(&mut self, now: Instant) -> Verdict {
        let expired = self
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= self.window);
        if expired {
            self.window_start = Some(now);
            self.passed = 1;
            return Verdict::Log {
                suppressed: std::mem::take(&mut self.suppressed),
            };
        }
        if self.passed < self.burst {
            self.passed += 1;
            return Verdict::Log { suppressed: 0 };
        }
        self.suppressed += 1;
        Verdict::Suppress
    }

    /// Occurrences counted but not logged since the last summary; resets the count. Call it when
    /// the source goes away, so the last window's count is reported too.
    pub fn take_suppressed(&mut self) -> u64 {
        std::mem::take(&mut self.suppressed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_a_burst_then_counts_and_reports_at_the_next_window() {
        let mut limiter = LogLimiter::new(3, Duration::from_secs(10));
        let start = Instant::now();
        let verdicts: Vec<Verdict> = (0..100_000).map(|_| limiter.check_at(start)).collect();
        let logged = verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Log { .. }))
            .count();
        assert_eq!(logged, 3);
        assert_eq!(
            limiter.check_at(start + Duration::from_secs(10)),
            Verdict::Log { suppressed: 99_997 }
        );
        assert_eq!(
            limiter.check_at(start + Duration::from_secs(11)),
            Verdict::Log { suppressed: 0 }
        );
    }

    #[test]
    fn reports_what_is_left_when_the_source_goes_away() {
        let mut limiter = LogLimiter::new(1, Duration::from_secs(10));
        let start = Instant::now();
        for _ in 0..5 {
            limiter.check_at(start);
        }
        assert_eq!(limiter.take_suppressed(), 4);
        assert_eq!(limiter.take_suppressed(), 0);
    }
}
