//! Running totals of the wheel events the desktop received.

use serde::Serialize;

/// Accumulated wheel movement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScrollStats {
    /// Sum of all horizontal deltas.
    pub x: i64,
    /// Sum of all vertical deltas.
    pub y: i64,
    /// Number of scroll events.
    pub events: u64,
}

impl ScrollStats {
    /// Adds one scroll event.
    pub fn record(&mut self, delta_x: i32, delta_y: i32) {
        self.x = self.x.saturating_add(i64::from(delta_x));
        self.y = self.y.saturating_add(i64::from(delta_y));
        self.events = self.events.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_accumulates() {
        let mut stats = ScrollStats::default();
        stats.record(1, -3);
        stats.record(0, i32::MIN);
        assert_eq!(stats.x, 1);
        assert_eq!(stats.y, -3 + i64::from(i32::MIN));
        assert_eq!(stats.events, 2);
    }
}
