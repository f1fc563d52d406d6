//! Go `time.Time` values as they travel in JSON.

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// A protocol timestamp, kept as the exact text received so it re-serialises byte-identically.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub String);

impl Timestamp {
    /// The current UTC time, formatted like Go's `time.RFC3339Nano` (nanoseconds, trailing zeros trimmed, `Z`).
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    /// Formats `at` like Go's `time.RFC3339Nano` in UTC.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        let mut text = at.format("%Y-%m-%dT%H:%M:%S").to_string();
        let nanos = at.nanosecond() % 1_000_000_000;
        if nanos != 0 {
            let digits = format!("{nanos:09}");
            text.push('.');
            text.push_str(digits.trim_end_matches('0'));
        }
        text.push('Z');
        Self(text)
    }

    /// Parses the text as RFC 3339; `None` when it is not a valid timestamp.
    pub fn parse(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.0)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    }

    /// The timestamp text as received or produced.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn reserialises_byte_identically() {
        let text = "\"2025-06-01T10:20:03.250Z\"";
        let ts: Timestamp = serde_json::from_str(text).expect("timestamp");
        assert_eq!(serde_json::to_string(&ts).expect("serialise"), text);
        let parsed = ts.parse().expect("valid");
        assert_eq!(parsed.timestamp_subsec_millis(), 250);
    }

    #[test]
    fn formats_like_go() {
        let at = Utc
            .with_ymd_and_hms(2025, 6, 1, 10, 2, 11)
            .single()
            .expect("date");
        assert_eq!(
            Timestamp::from_datetime(at).as_str(),
            "2025-06-01T10:02:11Z"
        );
        let at = at + chrono::Duration::nanoseconds(500_000_000);
        assert_eq!(
            Timestamp::from_datetime(at).as_str(),
            "2025-06-01T10:02:11.5Z"
        );
        let at = at + chrono::Duration::nanoseconds(1);
        assert_eq!(
            Timestamp::from_datetime(at).as_str(),
            "2025-06-01T10:02:11.500000001Z"
        );
    }

    #[test]
    fn now_parses_back() {
        let now = Timestamp::now();
        assert!(now.as_str().ends_with('Z'));
        assert!(now.parse().is_some());
        assert!(Timestamp("yesterday".into()).parse().is_none());
    }
}
