//! Live statistics of a watched stream: frame rate, size, bitrate and glass-to-appsink latency.

use std::time::{Duration, Instant};

/// Rolling counters, reported once per interval.
#[derive(Debug)]
pub struct StreamStats {
    started: Instant,
    window_start: Instant,
    window_frames: u64,
    window_bytes_start: u64,
    latencies_ms: Vec<f64>,
    /// Frames received in total.
    pub frames: u64,
    /// Size of the latest frame.
    pub size: (u32, u32),
}

/// One report line's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Frames per second over the window.
    pub fps: f64,
    /// Video bitrate in kbit/s over the window.
    pub kbps: f64,
    /// Median glass-to-appsink latency in the window, when the picture carries a time stamp.
    pub latency_p50_ms: Option<f64>,
    /// Frame size.
    pub size: (u32, u32),
    /// Frames so far.
    pub frames: u64,
    /// Seconds since the start.
    pub elapsed: f64,
}

impl Default for StreamStats {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamStats {
    /// Starts counting now.
    pub fn new() -> Self {
        let now = Instant::now();
        Self {
            started: now,
            window_start: now,
            window_frames: 0,
            window_bytes_start: 0,
            latencies_ms: Vec::new(),
            frames: 0,
            size: (0, 0),
        }
    }

    /// Records one frame, with its latency when known.
    pub fn frame(&mut self, size: (u32, u32), latency_ms: Option<f64>) {
        self.frames += 1;
        self.window_frames += 1;
        self.size = size;
        if let Some(latency) = latency_ms {
            self.latencies_ms.push(latency);
        }
    }

    /// Closes the current window if it is at least `interval` long; `bytes` is the total of
    /// received video bytes.
    pub fn report(&mut self, interval: Duration, bytes: u64) -> Option<Report> {
        let now = Instant::now();
        let span = now - self.window_start;
        if span < interval {
            return None;
        }
        let seconds = span.as_secs_f64();
        let report = Report {
            fps: self.window_frames as f64 / seconds,
            kbps: bytes.saturating_sub(self.window_bytes_start) as f64 * 8.0 / 1000.0 / seconds,
            latency_p50_ms: percentile(&mut self.latencies_ms, 0.5),
            size: self.size,
            frames: self.frames,
            elapsed: (now - self.started).as_secs_f64(),
        };
        self.window_start = now;
        self.window_frames = 0;
        self.window_bytes_start = bytes;
        self.latencies_ms.clear();
        Some(report)
    }
}

/// The `q` quantile (0..=1) of the values (sorted in place), or None when empty.
pub fn percentile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let index = ((values.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    values.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        assert_eq!(percentile(&mut [], 0.5), None);
        assert_eq!(percentile(&mut [3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(percentile(&mut [5.0, 1.0, 2.0, 4.0, 3.0], 1.0), Some(5.0));
    }

    #[test]
    fn reports_after_the_interval() {
        let mut stats = StreamStats::new();
        stats.frame((1280, 720), Some(10.0));
        assert!(stats.report(Duration::from_secs(3600), 0).is_none());
        let report = stats.report(Duration::ZERO, 1000).unwrap();
        assert_eq!(report.size, (1280, 720));
        assert_eq!(report.frames, 1);
        assert_eq!(report.latency_p50_ms, Some(10.0));
    }
}
