//! Exponential reconnect backoff with jitter.

use std::time::Duration;

/// Delays between reconnect attempts: starts at `initial`, doubles up to `max`, plus up to 25 % jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(30))
    }
}

impl Backoff {
    /// A backoff that starts at `initial` and never waits longer than `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            next: initial,
            attempt: 0,
        }
    }

    /// Number of delays handed out since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Returns the delay before the next attempt and advances the schedule.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        self.attempt += 1;
        let jitter_span = base.as_secs_f64() * 0.25;
        let jitter = rand::random::<f64>() * jitter_span;
        Duration::from_secs_f64((base.as_secs_f64() + jitter).min(self.max.as_secs_f64()))
    }

    /// Starts over after a successful connection.
    pub fn reset(&mut self) {
        self.next = self.initial;
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_bounded_jitter() {
        let mut backoff = Backoff::default();
        let delays: Vec<f64> = (0..8).map(|_| backoff.next_delay().as_secs_f64()).collect();
        let bases = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0];
        for (delay, base) in delays.iter().zip(bases) {
            assert!(
                *delay >= base && *delay <= (base * 1.25).min(30.0),
                "{delay} vs {base}"
            );
        }
        assert_eq!(backoff.attempt(), 8);
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(1250));
    }
}
