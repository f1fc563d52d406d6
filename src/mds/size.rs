//! Shard size limits written the way MosaicML accepts them (`bytes_to_int`):
//! plain byte counts, `…b`, or binary units such as `512mb` or `1.5gb`.

use super::error::{MdsError, Result};

/// The default `size_limit` of Python's `MDSWriter`: 64 MiB.
pub const DEFAULT_SIZE_LIMIT: u64 = 1 << 26;

/// The largest shard offsets can address; `size_limit` must be below it.
pub const MAX_SIZE_LIMIT: u64 = (1 << 32) - 1;

/// Parses a size limit such as `CAPTURE_SHARD_SIZE` (`"512mb"`).
///
/// An empty text gives `None` (no limit: everything in one shard), as in
/// Python. Units are powers of 1024 (`kb`, `mb`, `gb`, …), case-insensitive.
pub fn parse_size_limit(text: &str) -> Result<Option<u64>> {
    let error = |reason: &str| MdsError::SizeLimit {
        given: text.to_owned(),
        reason: reason.to_owned(),
    };
    let lower = text.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return Ok(None);
    }
    const UNITS: [(&str, u32); 8] = [
        ("kb", 1),
        ("mb", 2),
        ("gb", 3),
        ("tb", 4),
        ("pb", 5),
        ("eb", 6),
        ("zb", 7),
        ("yb", 8),
    ];
    let bytes = if let Some((number, power)) = UNITS
        .iter()
        .find_map(|(suffix, power)| Some((lower.strip_suffix(suffix)?, *power)))
    {
        let number: f64 = number
            .trim()
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| error("write a number before the unit, e.g. 512mb"))?;
        (number * 1024f64.powi(power as i32)).trunc()
    } else {
        let digits = lower.strip_suffix('b').unwrap_or(&lower);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error(
                "write bytes or a number with a unit: b, kb, mb, gb, tb, pb, eb, zb, yb",
            ));
        }
        digits.parse::<f64>().unwrap_or(f64::INFINITY)
    };
    if bytes > MAX_SIZE_LIMIT as f64 {
        return Err(error(
            "must be less than 4gb (2^32 bytes): shard offsets are 32-bit",
        ));
    }
    Ok(Some(bytes as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_bytes_to_int() {
        let ok = |text: &str| parse_size_limit(text).unwrap();
        assert_eq!(ok("512mb"), Some(512 << 20));
        assert_eq!(ok(" 512MB "), Some(512 << 20));
        assert_eq!(ok("1.5kb"), Some(1536));
        assert_eq!(ok("100b"), Some(100));
        assert_eq!(ok("67108864"), Some(DEFAULT_SIZE_LIMIT));
        assert_eq!(ok("0"), Some(0));
        assert_eq!(ok(""), None);
        assert_eq!(ok("4294967295"), Some(MAX_SIZE_LIMIT));
    }

    #[test]
    fn refuses_bad_and_too_large_limits() {
        for bad in ["4gb", "4294967296", "mb", "12 apples", "-1", "1e3", "-5mb"] {
            let err = parse_size_limit(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }
}
