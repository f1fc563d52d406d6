//! Median wall-clock time of a piece of work, for the benches that time small steps.

use std::time::{Duration, Instant};

/// The median of `samples`, in milliseconds.
pub fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

/// The median time of `rounds` runs of `work`, in milliseconds.
pub fn time<T>(rounds: usize, mut work: impl FnMut() -> T) -> f64 {
    let samples = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(work());
            started.elapsed()
        })
        .collect();
    median_ms(samples)
}
