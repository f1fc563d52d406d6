//! MosaicML Streaming (MDS) datasets, byte-compatible with Python's
//! `streaming.MDSWriter` and readable by `StreamingDataset`.
//!
//! A dataset directory holds `index.json` and shards `shard.00000.mds`
//! (or `shard.00000.mds.zstd` etc. when compressed). Each file here has one
//! job: `encoding` turns values into column bytes, `columns` lays out a
//! sample record, `shard` a shard file, `index` the index, `atomic` makes
//! writes crash-safe, and `writer`/`reader` put them together;
//! `compression`, `hashing` and `size` parse and apply the writer settings.
//!
//! Writing and reading block on file IO; from async code, run them on a
//! blocking thread.
//!
//! ```no_run
//! use neko_agent::mds::{Columns, MdsWriter, Sample, Value, WriterOptions, Compression};
//!
//! # fn main() -> Result<(), neko_agent::mds::MdsError> {
//! let columns = Columns::new([("task", "str"), ("payload", "bytes"), ("num_frames", "int")])?;
//! let options = WriterOptions {
//!     compression: Compression::parse_setting("zstd:6")?,
//!     hashes: neko_agent::mds::parse_hash_list("sha1")?,
//!     size_limit: neko_agent::mds::parse_size_limit("512mb")?,
//! };
//! let mut writer = MdsWriter::open("data/mds", columns, options)?;
//! let sample: Sample = [
//!     ("task".to_owned(), Value::from("open the browser")),
//!     ("payload".to_owned(), Value::from(vec![0u8; 16])),
//!     ("num_frames".to_owned(), Value::from(12i64)),
//! ]
//! .into();
//! if let Some(closed) = writer.write(&sample)? {
//!     println!("upload {}", closed.path.display());
//! }
//! writer.finish()?;
//! # Ok(())
//! # }
//! ```

mod atomic;
mod columns;
mod compression;
mod cursor;
mod dtype;
mod encoding;
mod error;
mod hashing;
mod index;
mod lock;
mod ndarray;
mod reader;
mod shard;
mod size;
mod value;
mod writer;

#[cfg(test)]
mod tests;

pub(crate) use atomic::{sync_dir, write_atomically};
pub use columns::{Columns, RecordError};
pub use compression::{Compression, Family};
pub use cursor::CursorError;
pub use dtype::Dtype;
pub use encoding::{Encoding, EncodingError, ValueError};
pub use error::{IndexDefect, MdsError, Result, ShardDefect};
pub use hashing::{HashAlgo, parse_hash_list};
pub use index::{FileInfo, INDEX_FILE, Index, ShardEntry};
pub(crate) use lock::lock_exclusive;
pub use ndarray::ArrayError;
pub use reader::{MdsReader, Samples, ShardSamples};
pub use shard::{LayoutError, raw_basename, zip_basename};
pub use size::{DEFAULT_SIZE_LIMIT, MAX_SIZE_LIMIT, parse_size_limit};
pub use value::{NdArray, NdArrayError, PilImage, Sample, Value};
pub use writer::{ClosedShard, MdsWriter, WriterOptions};
