//! Reading what the room's microphone heard: loudness, pitch and timing.

use std::time::Instant;

use crate::{HeardAudio, MICROPHONE_RATE};

/// Root mean square of samples scaled to [-1, 1].
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples
        .iter()
        .map(|&s| (f64::from(s) / 32768.0).powi(2))
        .sum();
    (sum / samples.len() as f64).sqrt()
}

/// Frequency of a steady tone from its rising zero crossings.
pub fn tone_frequency(samples: &[i16]) -> f64 {
    let crossings: Vec<usize> = samples
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0 && w[1] >= 0)
        .map(|(i, _)| i)
        .collect();
    let (Some(first), Some(last)) = (crossings.first(), crossings.last()) else {
        return 0.0;
    };
    if first == last {
        return 0.0;
    }
    (crossings.len() - 1) as f64 * f64::from(MICROPHONE_RATE) / (last - first) as f64
}

/// Every sample in `heard`, in order.
pub fn samples(heard: &[HeardAudio]) -> Vec<i16> {
    heard
        .iter()
        .flat_map(|h| h.samples.iter().copied())
        .collect()
}

/// The buffers louder than `threshold` RMS.
pub fn audible(heard: &[HeardAudio], threshold: f64) -> Vec<&HeardAudio> {
    heard
        .iter()
        .filter(|h| rms(&h.samples) > threshold)
        .collect()
}

/// Seconds of audio louder than `threshold` RMS in `heard`.
pub fn audible_seconds(heard: &[HeardAudio], threshold: f64) -> f64 {
    audible(heard, threshold)
        .iter()
        .map(|h| h.samples.len())
        .sum::<usize>() as f64
        / f64::from(MICROPHONE_RATE)
}

/// When the room finished hearing the last audible buffer: its arrival time (the buffer's
/// samples were all played by then).
pub fn last_audible(heard: &[HeardAudio], threshold: f64) -> Option<Instant> {
    audible(heard, threshold).last().map(|h| h.at)
}
