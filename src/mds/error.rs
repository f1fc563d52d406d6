//! The one error type of the MDS module: every message says what failed, on
//! which file or column, and what to do about it.

use std::io;
use std::path::PathBuf;

use super::columns::RecordError;
use super::encoding::{EncodingError, ValueError};
use super::shard::LayoutError;

/// Anything that can go wrong while writing or reading an MDS dataset.
#[derive(Debug, thiserror::Error)]
pub enum MdsError {
    /// A file-system operation failed while writing.
    #[error(
        "cannot {action} {path}: {source}; check that the directory exists, is writable and has free space"
    )]
    Write {
        /// What was being done, e.g. "write shard file".
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file-system operation failed while reading.
    #[error("cannot {action} {path}: {source}; check that the path points at an MDS dataset")]
    Read {
        /// What was being done, e.g. "read index".
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Another writer holds the dataset directory.
    #[error(
        "another MDS writer is using {dir}; stop it or write to a different directory (one writer per directory)"
    )]
    Locked {
        /// The dataset directory.
        dir: PathBuf,
    },
    /// `create` was asked to start a dataset where one already exists.
    #[error(
        "{path} already exists; open the dataset to append to it, or choose an empty directory"
    )]
    AlreadyExists {
        /// The existing index or shard file.
        path: PathBuf,
    },
    /// A shard file that is neither in the index nor the next one to recover.
    #[error(
        "{path} is not listed in index.json and does not follow the listed shards; move it out of the dataset directory"
    )]
    StrayShard {
        /// The unexpected shard file.
        path: PathBuf,
    },
    /// The columns given to the writer are empty or repeat a name.
    #[error("invalid columns: {reason}")]
    Columns {
        /// Why the column set was refused.
        reason: String,
    },
    /// An encoding name that MDS does not know or this module cannot handle.
    #[error("column `{column}`: encoding `{encoding}` {reason}")]
    Encoding {
        /// The column it was given for.
        column: String,
        /// The encoding as written.
        encoding: String,
        /// Why it was refused, with the supported names.
        #[source]
        reason: Box<EncodingError>,
    },
    /// Appending to a dataset whose shards have other columns.
    #[error(
        "{dir} holds shards with columns {existing}, but the writer was given {requested}; use the same columns or a different directory"
    )]
    ColumnsChanged {
        /// The dataset directory.
        dir: PathBuf,
        /// `name:encoding` list of the last shard in the index.
        existing: String,
        /// `name:encoding` list given to the writer.
        requested: String,
    },
    /// A sample whose keys differ from the writer's columns.
    #[error(
        "sample does not match the columns: missing {missing:?}, unexpected {unexpected:?}; every sample needs exactly the writer's columns"
    )]
    SampleColumns {
        /// Columns the sample lacks.
        missing: Vec<String>,
        /// Keys the sample has that are not columns.
        unexpected: Vec<String>,
    },
    /// A value that does not fit its column's encoding.
    #[error("column `{column}` ({encoding}): {reason}")]
    Value {
        /// The column name.
        column: String,
        /// The column's encoding.
        encoding: String,
        /// What is wrong with the value.
        #[source]
        reason: Box<ValueError>,
    },
    /// A single sample too large for a shard's 32-bit offsets.
    #[error(
        "a sample of {bytes} bytes does not fit in an MDS shard (offsets are 32-bit, at most 4 GiB per shard); store it split or externally"
    )]
    SampleTooLarge {
        /// Encoded size of the sample record.
        bytes: u64,
    },
    /// An unknown or malformed compression setting.
    #[error("unsupported compression `{given}`: {reason}")]
    Compression {
        /// The setting as given.
        given: String,
        /// Why, with the supported forms.
        reason: String,
    },
    /// An unknown hash algorithm name.
    #[error("unsupported hash `{given}`; supported: {supported}")]
    Hash {
        /// The name as given.
        given: String,
        /// Comma-separated list of supported names.
        supported: String,
    },
    /// A malformed or out-of-range shard size limit.
    #[error("invalid shard size limit `{given}`: {reason}")]
    SizeLimit {
        /// The setting as given.
        given: String,
        /// Why it was refused.
        reason: String,
    },
    /// `index.json` is not a version 2 MDS index.
    #[error("{path} is not a usable MDS index: {reason}; fix or remove it")]
    Index {
        /// The index file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        reason: Box<IndexDefect>,
    },
    /// A shard file whose contents do not follow the MDS layout.
    #[error("{path} is corrupt: {reason}; restore it from a copy or remove it and its index entry")]
    Corrupt {
        /// The shard file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        reason: Box<ShardDefect>,
    },
    /// A shard file whose hash differs from the one in the index.
    #[error(
        "{path}: {algo} is {actual}, index.json says {expected}; the file is damaged or was replaced, restore it from a copy"
    )]
    HashMismatch {
        /// The shard file.
        path: PathBuf,
        /// The hash algorithm.
        algo: String,
        /// The digest recorded in the index.
        expected: String,
        /// The digest of the file on disk.
        actual: String,
    },
}

/// What is wrong with an `index.json`.
#[derive(Debug, thiserror::Error)]
pub enum IndexDefect {
    /// The text is not JSON of the index's form.
    #[error("{0}")]
    Json(#[source] serde_json::Error),
    /// An index version other than 2.
    #[error("version is {0}, expected 2")]
    Version(u64),
    /// A shard entry of another format or version.
    #[error("shard {shard} is format {format:?} version {version}, expected mds version 2")]
    ShardFormat {
        /// The shard number.
        shard: usize,
        /// The format it names.
        format: String,
        /// The version it names.
        version: u64,
    },
    /// A shard entry whose column lists differ in length.
    #[error("shard {shard} has {names} column names but {encodings} encodings and {sizes} sizes")]
    ColumnCounts {
        /// The shard number.
        shard: usize,
        /// Number of column names.
        names: usize,
        /// Number of column encodings.
        encodings: usize,
        /// Number of column sizes.
        sizes: usize,
    },
    /// A shard number past the listed shards.
    #[error("there is no shard {0}")]
    NoShard(usize),
    /// A shard entry whose column names are not in sorted order.
    #[error("shard {0}: column_names are not sorted")]
    UnsortedColumns(usize),
    /// A shard entry whose column sizes disagree with its encodings.
    #[error("shard {shard}: column_sizes {sizes:?} do not match the encodings")]
    ColumnSizes {
        /// The shard number.
        shard: usize,
        /// The sizes it lists.
        sizes: Vec<Option<u64>>,
    },
}

/// What is wrong with a shard file.
#[derive(Debug, thiserror::Error)]
pub enum ShardDefect {
    /// The uncompressed data has another size than the index lists.
    #[error("it holds {holds} bytes of shard data, index.json says {listed}")]
    RawSize {
        /// Bytes of uncompressed shard data.
        holds: usize,
        /// Bytes the index lists.
        listed: u64,
    },
    /// A file has another size than the index lists.
    #[error("{basename} has {has} bytes, index.json says {listed}")]
    FileSize {
        /// The file name in the index.
        basename: String,
        /// Bytes it has.
        has: usize,
        /// Bytes the index lists.
        listed: u64,
    },
    /// The header does not describe the file.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Another number of samples than the index lists.
    #[error("it has {has} samples, index.json says {listed}")]
    SampleCount {
        /// Samples in the file.
        has: usize,
        /// Samples the index lists.
        listed: u64,
    },
    /// The config in the header is not the MDS config JSON.
    #[error("bad config: {0}")]
    Config(#[source] serde_json::Error),
    /// A config of another format or version.
    #[error("not an MDS version 2 shard")]
    NotVersion2,
    /// Columns in the config that differ from the index.
    #[error("its columns differ from those in index.json")]
    ColumnsDiffer,
    /// A compressed file listed without a compression.
    #[error("index.json lists zip_data but no compression")]
    NoCompression,
    /// A compressed file that does not decompress with the listed compression.
    #[error("cannot decompress as {compression}: {source}")]
    DecompressAs {
        /// The compression the index lists.
        compression: String,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// A compressed file that does not decompress as its extension says.
    #[error("cannot decompress: {0}")]
    Decompress(#[source] io::Error),
    /// A config whose compression differs from the file's extension.
    #[error("its config says compression {config:?} but the file name says {file_name:?}")]
    CompressionMismatch {
        /// The compression in the config.
        config: Option<String>,
        /// The compression the extension names.
        file_name: Option<&'static str>,
    },
    /// A sample record that does not decode.
    #[error("sample {index}: {source}")]
    Sample {
        /// The sample's position in the shard.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: RecordError,
    },
}

/// Shorthand for results of this module.
pub type Result<T, E = MdsError> = std::result::Result<T, E>;
