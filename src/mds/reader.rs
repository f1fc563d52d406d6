//! Reading a dataset back: `index.json`, then each shard (decompressed and
//! hash-checked), decoded into typed samples.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::columns::Columns;
use super::compression::Compression;
use super::error::{IndexDefect, MdsError, Result, ShardDefect};
use super::hashing::HashAlgo;
use super::index::{FileInfo, INDEX_FILE, Index, ShardEntry};
use super::shard::{Layout, StoredConfig};
use super::value::Sample;

/// An MDS dataset directory opened for reading.
#[derive(Debug, Clone)]
pub struct MdsReader {
    dir: PathBuf,
    index: Index,
    verify_hashes: bool,
}

impl MdsReader {
    /// Reads `dir/index.json`; shards are read when iterated.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_owned();
        let index = Index::load(&dir)?.ok_or_else(|| MdsError::Read {
            action: "read index",
            path: dir.join(INDEX_FILE),
            source: io::ErrorKind::NotFound.into(),
        })?;
        Ok(MdsReader {
            dir,
            index,
            verify_hashes: true,
        })
    }

    /// Whether to check the hashes listed in the index (on by default).
    pub fn verify_hashes(mut self, verify: bool) -> Self {
        self.verify_hashes = verify;
        self
    }

    /// The dataset directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Total samples over all shards.
    pub fn num_samples(&self) -> u64 {
        self.index.num_samples()
    }

    /// Loads and checks shard `number`: file present, sizes, hashes, layout
    /// and columns agreeing with the index.
    pub fn shard(&self, number: usize) -> Result<ShardSamples> {
        let entry = self
            .index
            .shards
            .get(number)
            .ok_or_else(|| MdsError::Index {
                path: self.dir.join(INDEX_FILE),
                reason: Box::new(IndexDefect::NoShard(number)),
            })?;
        let (path, raw) = self.read_raw(entry)?;
        let corrupt = |reason: ShardDefect| MdsError::Corrupt {
            path: path.clone(),
            reason: Box::new(reason),
        };
        if raw.len() as u64 != entry.raw_data.bytes {
            return Err(corrupt(ShardDefect::RawSize {
                holds: raw.len(),
                listed: entry.raw_data.bytes,
            }));
        }
        let layout = Layout::parse(&raw).map_err(|e| corrupt(e.into()))?;
        if layout.len() as u64 != entry.samples {
            return Err(corrupt(ShardDefect::SampleCount {
                has: layout.len(),
                listed: entry.samples,
            }));
        }
        let columns = Columns::new(entry.column_names.iter().zip(&entry.column_encodings))?;
        let bad_index = |reason: IndexDefect| MdsError::Index {
            path: self.dir.join(INDEX_FILE),
            reason: Box::new(reason),
        };
        if columns.names() != entry.column_names {
            return Err(bad_index(IndexDefect::UnsortedColumns(number)));
        }
        if columns.sizes() != entry.column_sizes {
            return Err(bad_index(IndexDefect::ColumnSizes {
                shard: number,
                sizes: entry.column_sizes.clone(),
            }));
        }
        let config: StoredConfig = serde_json::from_slice(layout.config(&raw))
            .map_err(|e| corrupt(ShardDefect::Config(e)))?;
        if config.column_names != entry.column_names
            || config.column_encodings != entry.column_encodings
            || config.column_sizes != entry.column_sizes
        {
            return Err(corrupt(ShardDefect::ColumnsDiffer));
        }
        Ok(ShardSamples {
            path,
            raw,
            layout,
            columns,
        })
    }

    /// Every sample of every shard, in order; stops after the first error.
    pub fn samples(&self) -> Samples<'_> {
        Samples {
            reader: self,
            next_shard: 0,
            current: None,
            next_sample: 0,
            failed: false,
        }
    }

    /// The uncompressed shard bytes and the file they came from.
    fn read_raw(&self, entry: &ShardEntry) -> Result<(PathBuf, Vec<u8>)> {
        let raw_path = self.dir.join(&entry.raw_data.basename);
        let zip = entry.zip_data.as_ref();
        if raw_path.exists() || zip.is_none() {
            let raw = read(&raw_path)?;
            self.check(&raw_path, &raw, &entry.raw_data)?;
            return Ok((raw_path, raw));
        }
        let zip = zip.expect("checked above");
        let zip_path = self.dir.join(&zip.basename);
        let data = read(&zip_path)?;
        self.check(&zip_path, &data, zip)?;
        let corrupt = |reason: ShardDefect| MdsError::Corrupt {
            path: zip_path.clone(),
            reason: Box::new(reason),
        };
        let text = entry
            .compression
            .as_deref()
            .ok_or_else(|| corrupt(ShardDefect::NoCompression))?;
        let raw = Compression::parse(text)?
            .decompress(&data)
            .map_err(|source| {
                corrupt(ShardDefect::DecompressAs {
                    compression: text.to_owned(),
                    source,
                })
            })?;
        self.check(&zip_path, &raw, &entry.raw_data)?;
        Ok((zip_path, raw))
    }

    /// Checks size (for files) and the listed hashes.
    fn check(&self, path: &Path, data: &[u8], info: &FileInfo) -> Result<()> {
        if data.len() as u64 != info.bytes {
            return Err(MdsError::Corrupt {
                path: path.to_owned(),
                reason: Box::new(ShardDefect::FileSize {
                    basename: info.basename.clone(),
                    has: data.len(),
                    listed: info.bytes,
                }),
            });
        }
        if !self.verify_hashes {
            return Ok(());
        }
        for (algo, expected) in &info.hashes {
            let actual = HashAlgo::parse(algo)?.hex_digest(data);
            if actual != *expected {
                return Err(MdsError::HashMismatch {
                    path: path.to_owned(),
                    algo: algo.clone(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|source| MdsError::Read {
        action: "read shard",
        path: path.to_owned(),
        source,
    })
}

/// One loaded and checked shard.
pub struct ShardSamples {
    path: PathBuf,
    raw: Vec<u8>,
    layout: Layout,
    columns: Columns,
}

impl ShardSamples {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    /// Whether the shard has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The columns of this shard.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Decodes sample `i` (`i < len()`).
    pub fn get(&self, i: usize) -> Result<Sample> {
        self.columns
            .decode_record(self.layout.record(&self.raw, i))
            .map_err(|source| MdsError::Corrupt {
                path: self.path.clone(),
                reason: Box::new(ShardDefect::Sample { index: i, source }),
            })
    }
}

/// Iterator over all samples of a dataset; see [`MdsReader::samples`].
pub struct Samples<'a> {
    reader: &'a MdsReader,
    next_shard: usize,
    current: Option<ShardSamples>,
    next_sample: usize,
    failed: bool,
}

impl Iterator for Samples<'_> {
    type Item = Result<Sample>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(shard) = &self.current
                && self.next_sample < shard.len()
            {
                let sample = shard.get(self.next_sample);
                self.next_sample += 1;
                self.failed = sample.is_err();
                return Some(sample);
            }
            if self.next_shard >= self.reader.index.shards.len() {
                return None;
            }
            match self.reader.shard(self.next_shard) {
                Ok(shard) => {
                    self.current = Some(shard);
                    self.next_sample = 0;
                    self.next_shard += 1;
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
