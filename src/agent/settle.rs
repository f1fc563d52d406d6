//! Waiting for the screen to settle after an action, instead of a fixed sleep: first for the
//! picture to react, then for it to stop changing.

use std::time::Duration;

use tokio::time::Instant;

use super::frames::FrameSource;
use crate::frame::FrameError;

/// How settling is judged.
#[derive(Debug, Clone, Copy)]
pub struct SettleOptions {
    /// Share of sampled pixels (0..1) that may change between frames of a still screen
    /// (clocks, blinking carets and counters stay below it).
    pub threshold: f64,
    /// How long the picture must stay still.
    pub quiet: Duration,
    /// How long to wait for the picture to react at all before judging stillness.
    pub react: Duration,
    /// Give up waiting after this long (the next step starts anyway).
    pub timeout: Duration,
}

impl Default for SettleOptions {
    fn default() -> Self {
        Self {
            threshold: 0.01,
            quiet: Duration::from_millis(300),
            react: Duration::from_millis(500),
            timeout: Duration::from_secs(3),
        }
    }
}

/// What happened while waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The picture changed and then stayed still for the quiet time.
    AfterChange,
    /// The picture did not change within the reaction time and is still.
    Unchanged,
    /// It kept changing until the timeout.
    TimedOut,
}

/// Waits until the screen shown by `frames` is still, starting from frame number `since`
/// (the newest frame when the action was sent).
pub async fn wait_until_settled(
    frames: &FrameSource,
    since: u64,
    options: SettleOptions,
) -> Result<Settled, FrameError> {
    let started = Instant::now();
    let deadline = started + options.timeout;
    let frame_wait = Duration::from_secs(2);
    let baseline = match frames.latest() {
        Some(frame) => frame.fingerprint()?,
        None => return Ok(Settled::Unchanged),
    };
    let mut previous = baseline.clone();
    let mut number = since;
    let mut changed = false;
    let mut still_since = Instant::now();
    while Instant::now() < deadline {
        let frame = match frames.newer_than(number, frame_wait).await {
            Ok(frame) => frame,
            // No new frames: nothing is changing on screen (the encoder skips still pictures).
            Err(FrameError::Timeout(_)) => {
                return Ok(if changed {
                    Settled::AfterChange
                } else {
                    Settled::Unchanged
                });
            }
            Err(other) => return Err(other),
        };
        number = frame.number;
        let fingerprint = frame.fingerprint()?;
        if !changed && fingerprint.changed_fraction(&baseline) > options.threshold {
            changed = true;
        }
        if fingerprint.changed_fraction(&previous) > options.threshold {
            still_since = Instant::now();
        }
        previous = fingerprint;
        let waited = started.elapsed();
        let quiet_enough = still_since.elapsed() >= options.quiet;
        if changed && quiet_enough {
            return Ok(Settled::AfterChange);
        }
        if !changed && waited >= options.react && quiet_enough {
            return Ok(Settled::Unchanged);
        }
    }
    Ok(Settled::TimedOut)
}
