//! The shard file layout (`encode_joint_shard`): `u32 n`, `u32 offsets[n+1]`
//! (absolute), the writer config as sorted JSON, then the sample records.

use std::ops::Range;

use serde::Deserialize;
use serde_json::json;

use super::columns::Columns;
use super::compression::Compression;
use super::cursor::{Cursor, CursorError};
use super::hashing::HashAlgo;
use crate::pyjson;

/// The file name of uncompressed shard `number`: `shard.00042.mds`.
pub fn raw_basename(number: usize) -> String {
    format!("shard.{number:05}.mds")
}

/// The file name of compressed shard `number`, e.g. `shard.00042.mds.zstd`.
pub fn zip_basename(number: usize, compression: Compression) -> String {
    format!("{}.{}", raw_basename(number), compression.extension())
}

/// The shard number of a shard file name (`shard.00042.mds[.ext]`), if it is one.
pub(crate) fn shard_number(basename: &str) -> Option<usize> {
    let rest = basename.strip_prefix("shard.")?;
    let (digits, rest) = rest.split_once('.')?;
    if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (rest == "mds" || rest.starts_with("mds.")).then(|| digits.parse().ok())?
}

/// The writer settings every shard carries, as `get_config()` builds them.
pub(crate) struct Config<'a> {
    /// The columns.
    pub columns: &'a Columns,
    /// The compression, if any.
    pub compression: Option<Compression>,
    /// Hash algorithms, sorted.
    pub hashes: &'a [HashAlgo],
    /// The size limit, if any.
    pub size_limit: Option<u64>,
}

impl Config<'_> {
    /// The config as a JSON object (keys in any order).
    pub(crate) fn to_value(&self) -> serde_json::Value {
        json!({
            "column_encodings": self.columns.encodings().iter().map(|e| e.as_str()).collect::<Vec<_>>(),
            "column_names": self.columns.names(),
            "column_sizes": self.columns.sizes(),
            "compression": self.compression.map(|c| c.to_string()),
            "format": "mds",
            "hashes": self.hashes.iter().map(|h| h.name()).collect::<Vec<_>>(),
            "size_limit": self.size_limit,
            "version": 2,
        })
    }

    /// The config bytes stored in each shard: `json.dumps(config, sort_keys=True)`.
    pub(crate) fn to_json(&self) -> String {
        pyjson::dumps(&self.to_value(), true)
    }
}

/// The config read back from a shard file.
#[derive(Debug, Deserialize)]
pub(crate) struct StoredConfig {
    pub column_encodings: Vec<String>,
    pub column_names: Vec<String>,
    pub column_sizes: Vec<Option<u64>>,
    pub compression: Option<String>,
    pub format: String,
    pub hashes: Vec<String>,
    pub size_limit: Option<u64>,
    pub version: u64,
}

/// The header before the records: sample count, offsets and config.
pub(crate) fn header(config: &[u8], record_sizes: &[u32]) -> Vec<u8> {
    let n = record_sizes.len();
    let mut out = Vec::with_capacity(4 * (n + 2) + config.len());
    out.extend_from_slice(&(n as u32).to_le_bytes());
    let mut offset = (4 + 4 * (n + 1) + config.len()) as u32;
    out.extend_from_slice(&offset.to_le_bytes());
    for &size in record_sizes {
        offset += size;
        out.extend_from_slice(&offset.to_le_bytes());
    }
    out.extend_from_slice(config);
    out
}

/// Why a shard header does not describe its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The file is shorter than the sample count.
    #[error("no sample count: {0}")]
    NoCount(#[source] CursorError),
    /// The file ends inside the offset table.
    #[error("offset table of {samples} samples is cut: {source}")]
    OffsetsCut {
        /// The sample count in the header.
        samples: usize,
        /// How far the table runs past the end.
        #[source]
        source: CursorError,
    },
    /// The first sample starts inside the header.
    #[error("first sample offset {first} lies inside the {header}-byte header")]
    FirstInsideHeader {
        /// The first sample offset.
        first: usize,
        /// The header's size.
        header: usize,
    },
    /// Offsets that go backwards.
    #[error("sample {0} ends before it starts")]
    EndsBeforeStart(usize),
    /// A last offset that is not the end of the file.
    #[error("the last sample ends at byte {last} but the file has {len} bytes")]
    LastOffset {
        /// The last offset.
        last: usize,
        /// The file's size.
        len: usize,
    },
}

/// Where the config and records of a shard file lie.
#[derive(Debug)]
pub(crate) struct Layout {
    offsets: Vec<u32>,
    config: Range<usize>,
}

impl Layout {
    /// Checks the header of a whole uncompressed shard; the error is the reason.
    pub(crate) fn parse(data: &[u8]) -> Result<Layout, LayoutError> {
        let mut cur = Cursor::new(data);
        let n = cur.u32().map_err(LayoutError::NoCount)? as usize;
        let offsets = cur
            .u32s(n + 1)
            .map_err(|source| LayoutError::OffsetsCut { samples: n, source })?;
        let config_start = 4 + 4 * (n + 1);
        let first = offsets[0] as usize;
        if first < config_start {
            return Err(LayoutError::FirstInsideHeader {
                first,
                header: config_start,
            });
        }
        if let Some(i) = offsets.windows(2).position(|w| w[1] < w[0]) {
            return Err(LayoutError::EndsBeforeStart(i));
        }
        let last = offsets[n] as usize;
        if last != data.len() {
            return Err(LayoutError::LastOffset {
                last,
                len: data.len(),
            });
        }
        Ok(Layout {
            offsets,
            config: config_start..first,
        })
    }

    /// Number of samples.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The config bytes.
    pub(crate) fn config<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.config.clone()]
    }

    /// The record of sample `i`.
    pub(crate) fn record<'a>(&self, data: &'a [u8], i: usize) -> &'a [u8] {
        &data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(raw_basename(0), "shard.00000.mds");
        assert_eq!(raw_basename(123_456), "shard.123456.mds");
        let zstd = Compression::parse("zstd:7").unwrap();
        assert_eq!(zip_basename(3, zstd), "shard.00003.mds.zstd");
        assert_eq!(shard_number("shard.00003.mds.zstd"), Some(3));
        assert_eq!(shard_number("shard.123456.mds"), Some(123_456));
        assert_eq!(shard_number("shard.0003.mds"), None);
        assert_eq!(shard_number("shard.00003.mdsx"), None);
        assert_eq!(shard_number("index.json"), None);
    }

    #[test]
    fn layout_rejects_broken_headers() {
        let good = header(b"{}", &[3, 1]);
        let mut file = good.clone();
        file.extend_from_slice(&[1, 2, 3, 4]);
        let layout = Layout::parse(&file).unwrap();
        assert_eq!(layout.len(), 2);
        assert_eq!(layout.config(&file), b"{}");
        assert_eq!(layout.record(&file, 1), [4]);

        assert!(
            Layout::parse(&[1, 0])
                .unwrap_err()
                .to_string()
                .contains("no sample count")
        );
        assert!(
            Layout::parse(&file[..8])
                .unwrap_err()
                .to_string()
                .contains("offset table")
        );
        assert!(
            Layout::parse(&file[..file.len() - 1])
                .unwrap_err()
                .to_string()
                .contains("last sample")
        );
        let mut swapped = file.clone();
        swapped[8..12].copy_from_slice(&100u32.to_le_bytes());
        assert!(
            Layout::parse(&swapped)
                .unwrap_err()
                .to_string()
                .contains("ends before")
        );
        let mut inside = file;
        inside[4..8].copy_from_slice(&2u32.to_le_bytes());
        assert!(
            Layout::parse(&inside)
                .unwrap_err()
                .to_string()
                .contains("inside")
        );
    }
}
