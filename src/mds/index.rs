//! `index.json` version 2: the list of shards with their settings, sizes and
//! hashes, written byte for byte as Python's `json.dump(obj, sort_keys=True)`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{IndexDefect, MdsError, Result};
use crate::pyjson;

/// The index file name inside a dataset directory.
pub const INDEX_FILE: &str = "index.json";

/// A dataset's `index.json`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Index {
    /// The shards in order; shard `i` is `shard.{i:05}.mds`.
    pub shards: Vec<ShardEntry>,
}

/// One shard as listed in the index: its writer settings plus the files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// Encoding of each column, in `column_names` order.
    pub column_encodings: Vec<String>,
    /// Column names, sorted.
    pub column_names: Vec<String>,
    /// Fixed byte size of each column, `None` for variable-size ones.
    pub column_sizes: Vec<Option<u64>>,
    /// The compression setting, e.g. `zstd:6`, or `None`.
    pub compression: Option<String>,
    /// Always `mds`.
    pub format: String,
    /// Hash algorithm names, sorted.
    pub hashes: Vec<String>,
    /// The uncompressed shard (also described when only the compressed file exists).
    pub raw_data: FileInfo,
    /// Number of samples in the shard.
    pub samples: u64,
    /// The writer's size limit, or `None` for no limit.
    pub size_limit: Option<u64>,
    /// Always 2.
    pub version: u64,
    /// The compressed shard, when compressed.
    pub zip_data: Option<FileInfo>,
    /// Fields this module does not know, kept when the index is rewritten.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A shard file: name, size and hex digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// File name inside the dataset directory.
    pub basename: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex digest by algorithm name.
    pub hashes: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct IndexFile {
    shards: Vec<ShardEntry>,
    version: u64,
}

impl Index {
    /// The index text exactly as Python writes it.
    pub fn to_json(&self) -> String {
        let file = IndexFile {
            shards: self.shards.clone(),
            version: 2,
        };
        let value = serde_json::to_value(&file).expect("index entries are plain JSON");
        pyjson::dumps(&value, true)
    }

    /// Parses index text; `path` is only used in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<Index> {
        let error = |reason: IndexDefect| MdsError::Index {
            path: path.to_owned(),
            reason: Box::new(reason),
        };
        let file: IndexFile =
            serde_json::from_str(text).map_err(|e| error(IndexDefect::Json(e)))?;
        if file.version != 2 {
            return Err(error(IndexDefect::Version(file.version)));
        }
        for (i, shard) in file.shards.iter().enumerate() {
            if shard.format != "mds" || shard.version != 2 {
                return Err(error(IndexDefect::ShardFormat {
                    shard: i,
                    format: shard.format.clone(),
                    version: shard.version,
                }));
            }
            let n = shard.column_names.len();
            if shard.column_encodings.len() != n || shard.column_sizes.len() != n {
                return Err(error(IndexDefect::ColumnCounts {
                    shard: i,
                    names: n,
                    encodings: shard.column_encodings.len(),
                    sizes: shard.column_sizes.len(),
                }));
            }
        }
        Ok(Index {
            shards: file.shards,
        })
    }

    /// Reads `dir/index.json`, or `None` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Index>> {
        let path = dir.join(INDEX_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Index::from_json(&text, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(MdsError::Read {
                action: "read index",
                path,
                source,
            }),
        }
    }

    /// Total samples over all shards.
    pub fn num_samples(&self) -> u64 {
        self.shards.iter().map(|s| s.samples).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of `streaming/base/format/mds/README.md`, as `json.dump`
    /// with `sort_keys=True` writes it (one line).
    const PYTHON_INDEX: &str = r#"{"shards": [{"column_encodings": ["int", "str"], "column_names": ["number", "words"], "column_sizes": [8, null], "compression": "zstd:7", "format": "mds", "hashes": ["sha1", "xxh3_64"], "raw_data": {"basename": "shard.00000.mds", "bytes": 1048544, "hashes": {"sha1": "8d0634d3836110b00ae435bbbabd1739f3bbeeac", "xxh3_64": "2c54988514bca807"}}, "samples": 16621, "size_limit": 1048576, "version": 2, "zip_data": {"basename": "shard.00000.mds.zstd", "bytes": 228795, "hashes": {"sha1": "2fb5ece19aabc91c2d6d6c126d614ab291abe24a", "xxh3_64": "fe6e78d7c73d9e79"}}}], "version": 2}"#;

    #[test]
    fn python_index_round_trips_byte_for_byte() {
        let index = Index::from_json(PYTHON_INDEX, Path::new("index.json")).unwrap();
        assert_eq!(index.shards[0].samples, 16621);
        assert_eq!(index.shards[0].column_sizes, [Some(8), None]);
        assert_eq!(index.to_json(), PYTHON_INDEX);
    }

    #[test]
    fn unknown_fields_are_kept_sorted() {
        let text = PYTHON_INDEX.replace(
            r#""samples": 16621"#,
            r#""samples": 16621, "aaa": {"z": 1, "b": 2}"#,
        );
        let index = Index::from_json(&text, Path::new("index.json")).unwrap();
        let json = index.to_json();
        assert!(
            json.starts_with(r#"{"shards": [{"aaa": {"b": 2, "z": 1}, "column_encodings""#),
            "{json}"
        );
    }

    #[test]
    fn empty_index_is_what_python_writes() {
        assert_eq!(
            Index::default().to_json(),
            r#"{"shards": [], "version": 2}"#
        );
    }

    #[test]
    fn bad_indexes_name_the_problem() {
        let path = Path::new("/data/index.json");
        let err = Index::from_json("{", path).unwrap_err().to_string();
        assert!(
            err.starts_with("/data/index.json is not a usable MDS index"),
            "{err}"
        );
        let err = Index::from_json(r#"{"shards": [], "version": 1}"#, path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("version is 1"), "{err}");
        let text = PYTHON_INDEX.replace(r#""format": "mds""#, r#""format": "json""#);
        let err = Index::from_json(&text, path).unwrap_err().to_string();
        assert!(err.contains("shard 0 is format \"json\""), "{err}");
    }
}
