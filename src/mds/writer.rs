//! The dataset writer (`MDSWriter`): buffers sample records, closes a shard
//! when the next sample would pass `size_limit`, and keeps `index.json`
//! current after every shard so a dataset on disk is always readable.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::iter;
use std::path::{Path, PathBuf};

use super::atomic::{self, TEMP_PREFIX, write_atomically};
use super::columns::Columns;
use super::compression::{Compression, Family};
use super::error::{MdsError, Result, ShardDefect};
use super::hashing::{self, HashAlgo, HashingWriter, MultiHasher};
use super::index::{FileInfo, INDEX_FILE, Index, ShardEntry};
use super::lock::lock_exclusive;
use super::shard::{self, Config, Layout, StoredConfig};
use super::size::{DEFAULT_SIZE_LIMIT, MAX_SIZE_LIMIT};
use super::value::Sample;

/// How shards are written: the `compression`, `hashes` and `size_limit`
/// arguments of Python's `MDSWriter`.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterOptions {
    /// Compression of shard files; `None` writes plain `shard.NNNNN.mds`.
    pub compression: Option<Compression>,
    /// Hashes recorded for every shard file (sorted and de-duplicated on use).
    pub hashes: Vec<HashAlgo>,
    /// Shard size limit in bytes (below 2^32); `None` or 0 means no limit
    /// (recorded as `null`, as Python does for a falsy limit).
    pub size_limit: Option<u64>,
}

impl Default for WriterOptions {
    /// Python's defaults: no compression, no hashes, 64 MiB shards.
    fn default() -> Self {
        WriterOptions {
            compression: None,
            hashes: Vec::new(),
            size_limit: Some(DEFAULT_SIZE_LIMIT),
        }
    }
}

/// A shard file that was just closed (written, synced and listed in the
/// index): what an uploader needs to copy it elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedShard {
    /// The shard number (position in the index).
    pub number: usize,
    /// The file written: compressed if compression is on, raw otherwise.
    pub path: PathBuf,
    /// The shard's index entry, with sizes and hashes.
    pub entry: ShardEntry,
    /// The index file, rewritten to include this shard.
    pub index_path: PathBuf,
}

/// Writes samples into an MDS dataset directory, one writer per directory.
///
/// Samples are kept in memory until their shard closes (like Python); call
/// [`flush`](Self::flush) to close a shard early and [`finish`](Self::finish)
/// at the end. Dropping the writer with pending samples loses them.
pub struct MdsWriter {
    dir: PathBuf,
    columns: Columns,
    compression: Option<Compression>,
    hashes: Vec<HashAlgo>,
    size_limit: Option<u64>,
    config: Vec<u8>,
    index: Index,
    records: Vec<Vec<u8>>,
    shard_size: u64,
    _lock: File,
    #[cfg(test)]
    fail: Option<FailPoint>,
}

/// Where a test makes the next write fail.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailPoint {
    /// Half-way through a shard file.
    Shard,
    /// Half-way through `index.json`.
    Index,
}

impl MdsWriter {
    /// Starts a new dataset in `dir` (created if missing); fails if `dir`
    /// already holds an index or shard files.
    pub fn create(dir: impl AsRef<Path>, columns: Columns, options: WriterOptions) -> Result<Self> {
        MdsWriter::start(dir.as_ref(), columns, options, true)
    }

    /// Opens the dataset in `dir` to append to it, or starts one there.
    ///
    /// New shards continue the numbering of those in `index.json`. Shard
    /// files that were written but not yet indexed (a crash between the two)
    /// are checked and added to the index. The existing shards must have the
    /// same columns; compression, hashes and size limit may differ.
    pub fn open(dir: impl AsRef<Path>, columns: Columns, options: WriterOptions) -> Result<Self> {
        MdsWriter::start(dir.as_ref(), columns, options, false)
    }

    fn start(dir: &Path, columns: Columns, options: WriterOptions, fresh: bool) -> Result<Self> {
        if let Some(limit) = options.size_limit.filter(|&l| l > MAX_SIZE_LIMIT) {
            return Err(MdsError::SizeLimit {
                given: limit.to_string(),
                reason: "must be less than 4gb (2^32 bytes): shard offsets are 32-bit".into(),
            });
        }
        let write_error = |action, source| MdsError::Write {
            action,
            path: dir.to_owned(),
            source,
        };
        fs::create_dir_all(dir).map_err(|e| write_error("create the dataset directory", e))?;
        let lock = File::open(dir).map_err(|e| write_error("open the dataset directory", e))?;
        if !lock_exclusive(&lock).map_err(|e| write_error("lock", e))? {
            return Err(MdsError::Locked {
                dir: dir.to_owned(),
            });
        }
        let shard_files = list_dir(dir)?;
        let existing = Index::load(dir)?;
        if fresh {
            let found = match &existing {
                Some(_) => Some(dir.join(INDEX_FILE)),
                None => shard_files.values().flatten().next().cloned(),
            };
            if let Some(path) = found {
                return Err(MdsError::AlreadyExists { path });
            }
        }
        let mut index = existing.unwrap_or_default();
        let mut recovered = false;
        while let Some(paths) = shard_files.get(&index.shards.len()) {
            let entry = recover(index.shards.len(), paths)?;
            tracing::warn!(
                shard = %paths[0].display(),
                "adding a shard file that was written but not yet listed in index.json"
            );
            index.shards.push(entry);
            recovered = true;
        }
        if let Some(path) = shard_files
            .range(index.shards.len()..)
            .flat_map(|(_, p)| p)
            .next()
        {
            return Err(MdsError::StrayShard { path: path.clone() });
        }
        if let Some(last) = index.shards.last() {
            let encodings: Vec<&str> = columns.encodings().iter().map(|e| e.as_str()).collect();
            if last.column_names != columns.names() || last.column_encodings != encodings {
                let existing = last
                    .column_names
                    .iter()
                    .zip(&last.column_encodings)
                    .map(|(n, e)| format!("{n}:{e}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(MdsError::ColumnsChanged {
                    dir: dir.to_owned(),
                    existing: format!("[{existing}]"),
                    requested: format!("[{}]", columns.describe()),
                });
            }
        }

        let size_limit = options.size_limit.filter(|&l| l > 0);
        let mut hashes = options.hashes;
        hashing::normalize(&mut hashes);
        let config = Config {
            columns: &columns,
            compression: options.compression,
            hashes: &hashes,
            size_limit,
        }
        .to_json()
        .into_bytes();
        let writer = MdsWriter {
            dir: dir.to_owned(),
            shard_size: 8 + config.len() as u64,
            columns,
            compression: options.compression,
            hashes,
            size_limit,
            config,
            index,
            records: Vec::new(),
            _lock: lock,
            #[cfg(test)]
            fail: None,
        };
        if recovered {
            writer.write_index()?;
        }
        Ok(writer)
    }

    /// Adds a sample; returns the shard that had to be closed first to keep
    /// it under the size limit, if any.
    pub fn write(&mut self, sample: &Sample) -> Result<Option<ClosedShard>> {
        let record = self.columns.encode_record(sample)?;
        let added = record.len() as u64 + 4;
        let empty = 8 + self.config.len() as u64;
        if empty + added > MAX_SIZE_LIMIT {
            return Err(MdsError::SampleTooLarge {
                bytes: record.len() as u64,
            });
        }
        // Python's rule: close the shard before a sample that would pass the
        // limit. Unlike Python, never close an empty shard (Python writes a
        // 0-sample shard when the very first sample is over the limit).
        // Without a limit, shards still stop at what 32-bit offsets address.
        let limit = self.size_limit.filter(|&l| l > 0).unwrap_or(MAX_SIZE_LIMIT);
        let closed = if !self.records.is_empty() && limit < self.shard_size + added {
            self.close_shard()?
        } else {
            None
        };
        self.shard_size += added;
        self.records.push(record);
        Ok(closed)
    }

    /// Closes the current shard now, if it has samples.
    pub fn flush(&mut self) -> Result<Option<ClosedShard>> {
        self.close_shard()
    }

    /// Closes the last shard and writes the index (also for an empty dataset).
    ///
    /// The writer stays usable: later samples go to new shards.
    pub fn finish(&mut self) -> Result<Option<ClosedShard>> {
        let closed = self.close_shard()?;
        if closed.is_none() {
            self.write_index()?;
        }
        Ok(closed)
    }

    /// The dataset directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The columns samples must have.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The shards closed so far, including those from before [`open`](Self::open).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Samples buffered for the shard not closed yet.
    pub fn pending_samples(&self) -> usize {
        self.records.len()
    }

    /// Makes the next shard or index write fail half-way, for tests.
    #[cfg(test)]
    pub(crate) fn fail_next(&mut self, point: FailPoint) {
        self.fail = Some(point);
    }

    fn close_shard(&mut self) -> Result<Option<ClosedShard>> {
        if self.records.is_empty() {
            return Ok(None);
        }
        let number = self.index.shards.len();
        let sizes: Vec<u32> = self.records.iter().map(|r| r.len() as u32).collect();
        let header = shard::header(&self.config, &sizes);
        let chunks: Vec<&[u8]> = iter::once(header.as_slice())
            .chain(self.records.iter().map(Vec::as_slice))
            .collect();
        let raw_len: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        let compression = self.compression;
        let basename = match compression {
            Some(c) => shard::zip_basename(number, c),
            None => shard::raw_basename(number),
        };
        #[cfg(test)]
        let fail = self.fail.take_if(|f| *f == FailPoint::Shard).is_some();
        let (path, (written, file_hashes)) = write_atomically(&self.dir, &basename, |out| {
            let mut out = HashingWriter::new(out, &self.hashes);
            #[cfg(test)]
            if fail {
                out.write_all(&header)?;
                return Err(std::io::Error::other("injected shard write failure"));
            }
            match compression {
                Some(c) => c.compress_chunks(&chunks, raw_len, &mut out)?,
                None => chunks.iter().try_for_each(|c| out.write_all(c))?,
            }
            Ok(out.finish())
        })?;
        let (raw_hashes, zip_data) = match compression {
            Some(_) => {
                let mut raw = MultiHasher::new(&self.hashes);
                chunks.iter().for_each(|c| raw.update(c));
                let zip = FileInfo {
                    basename,
                    bytes: written,
                    hashes: file_hashes.into_iter().collect(),
                };
                (raw.finish(), Some(zip))
            }
            None => (file_hashes, None),
        };
        let entry = ShardEntry {
            column_encodings: self
                .columns
                .encodings()
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
            column_names: self.columns.names().to_vec(),
            column_sizes: self.columns.sizes(),
            compression: compression.map(|c| c.to_string()),
            format: "mds".to_owned(),
            hashes: self.hashes.iter().map(|h| h.name().to_owned()).collect(),
            raw_data: FileInfo {
                basename: shard::raw_basename(number),
                bytes: raw_len,
                hashes: raw_hashes.into_iter().collect(),
            },
            samples: self.records.len() as u64,
            size_limit: self.size_limit,
            version: 2,
            zip_data,
            extra: serde_json::Map::new(),
        };
        self.index.shards.push(entry.clone());
        self.records.clear();
        self.shard_size = 8 + self.config.len() as u64;
        // The shard is safely on disk and listed in memory; if the index write
        // fails, the next one (or the next `open`) lists it.
        let index_path = self.write_index()?;
        Ok(Some(ClosedShard {
            number,
            path,
            entry,
            index_path,
        }))
    }

    fn write_index(&self) -> Result<PathBuf> {
        let text = self.index.to_json();
        #[cfg(test)]
        let fail = self.fail == Some(FailPoint::Index);
        let (path, ()) = write_atomically(&self.dir, INDEX_FILE, |out| {
            #[cfg(test)]
            if fail {
                out.write_all(&text.as_bytes()[..text.len() / 2])?;
                return Err(std::io::Error::other("injected index write failure"));
            }
            out.write_all(text.as_bytes())
        })?;
        Ok(path)
    }
}

impl Drop for MdsWriter {
    fn drop(&mut self) {
        if !self.records.is_empty() {
            tracing::warn!(
                dir = %self.dir.display(),
                samples = self.records.len(),
                "MDS writer dropped without finish(): its pending samples were not written"
            );
        }
    }
}

/// Removes temporary files left by a killed writer and lists shard files by number.
fn list_dir(dir: &Path) -> Result<BTreeMap<usize, Vec<PathBuf>>> {
    let read_error = |source| MdsError::Read {
        action: "list",
        path: dir.to_owned(),
        source,
    };
    let mut shards: BTreeMap<usize, Vec<PathBuf>> = BTreeMap::new();
    let mut removed = false;
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(TEMP_PREFIX) {
            fs::remove_file(entry.path()).map_err(|source| MdsError::Write {
                action: "remove the leftover temporary file",
                path: entry.path(),
                source,
            })?;
            removed = true;
        } else if let Some(number) = shard::shard_number(name) {
            shards.entry(number).or_default().push(entry.path());
        }
    }
    for paths in shards.values_mut() {
        paths.sort();
    }
    if removed {
        atomic::sync_dir(dir)?;
    }
    Ok(shards)
}

/// Rebuilds the index entry of shard `number` from its file.
fn recover(number: usize, paths: &[PathBuf]) -> Result<ShardEntry> {
    let raw_name = shard::raw_basename(number);
    let path = &paths[0];
    let corrupt = |reason: ShardDefect| MdsError::Corrupt {
        path: path.clone(),
        reason: Box::new(reason),
    };
    let stray = || MdsError::StrayShard { path: path.clone() };
    if paths.len() > 1 {
        return Err(MdsError::StrayShard {
            path: paths[1].clone(),
        });
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(stray)?;
    let data = fs::read(path).map_err(|source| MdsError::Read {
        action: "read",
        path: path.clone(),
        source,
    })?;
    let family = match name.strip_prefix(raw_name.as_str()) {
        Some("") => None,
        Some(ext) => Some(
            ext.strip_prefix('.')
                .and_then(Family::from_extension)
                .ok_or_else(stray)?,
        ),
        None => return Err(stray()),
    };
    let (raw, zip) = match family {
        None => (data, None),
        Some(family) => {
            let compression = Compression::parse(family.extension())?;
            let raw = compression
                .decompress(&data)
                .map_err(|e| corrupt(ShardDefect::Decompress(e)))?;
            (raw, Some(data))
        }
    };
    let layout = Layout::parse(&raw).map_err(|e| corrupt(e.into()))?;
    let config: StoredConfig =
        serde_json::from_slice(layout.config(&raw)).map_err(|e| corrupt(ShardDefect::Config(e)))?;
    if config.format != "mds" || config.version != 2 {
        return Err(corrupt(ShardDefect::NotVersion2));
    }
    let stored_family = match &config.compression {
        Some(text) => Some(Compression::parse(text)?.family()),
        None => None,
    };
    if stored_family != family {
        return Err(corrupt(ShardDefect::CompressionMismatch {
            config: config.compression,
            file_name: family.map(Family::extension),
        }));
    }
    let algos = config
        .hashes
        .iter()
        .map(|h| HashAlgo::parse(h))
        .collect::<Result<Vec<_>>>()?;
    let digests = |data: &[u8]| {
        algos
            .iter()
            .map(|a| (a.name().to_owned(), a.hex_digest(data)))
            .collect()
    };
    Ok(ShardEntry {
        column_encodings: config.column_encodings,
        column_names: config.column_names,
        column_sizes: config.column_sizes,
        compression: config.compression,
        format: config.format,
        hashes: config.hashes,
        raw_data: FileInfo {
            basename: raw_name,
            bytes: raw.len() as u64,
            hashes: digests(&raw),
        },
        samples: layout.len() as u64,
        size_limit: config.size_limit,
        version: config.version,
        zip_data: zip.map(|zip| FileInfo {
            basename: name.to_owned(),
            bytes: zip.len() as u64,
            hashes: digests(&zip),
        }),
        extra: serde_json::Map::new(),
    })
}
