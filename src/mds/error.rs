//! The one error type of the MDS module: every message says what failed, on
//! which file or column, and what to do about it.

use std::io;
use std::path::PathBuf;

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
        reason: String,
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
        reason: String,
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
        reason: String,
    },
    /// A shard file whose contents do not follow the MDS layout.
    #[error("{path} is corrupt: {reason}; restore it from a copy or remove it and its index entry")]
    Corrupt {
        /// The shard file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
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

/// Shorthand for results of this module.
pub type Result<T, E = MdsError> = std::result::Result<T, E>;
