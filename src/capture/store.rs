//! Packaged episodes into the MDS dataset, never lost on the way.
//!
//! The MDS writer keeps a shard's samples in memory until the shard closes (as Python's does),
//! so each episode's zip is first written to the spool (atomically) and only removed once the
//! shard holding it is on disk. After a crash the spooled episodes are written again, except
//! those the last shard already holds.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::mds::{
    ClosedShard, MdsReader, MdsWriter, Value as MdsValue, WriterOptions, sync_dir, write_atomically,
};

use super::error::{CaptureError, io_error};
use super::package::{PackagedEpisode, episode_columns};

/// The dataset being written, with its spool of episodes not yet in a closed shard.
pub struct EpisodeStore {
    writer: MdsWriter,
    spool: PathBuf,
    /// Spool files whose samples wait in the shard not closed yet.
    pending: Vec<PathBuf>,
}

/// What opening the store found and did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StoreReport {
    /// Spooled episodes written to the dataset again after a crash.
    pub respooled: Vec<String>,
    /// Spooled episodes that were already in the dataset (dropped from the spool).
    pub already_stored: Vec<String>,
    /// Spool files that could not be read, left where they are.
    pub unreadable: Vec<String>,
}

impl EpisodeStore {
    /// Opens (or starts) the dataset and writes again what the spool still holds.
    pub fn open(
        dataset: &Path,
        spool: PathBuf,
        options: WriterOptions,
    ) -> Result<(Self, StoreReport), CaptureError> {
        let writer = MdsWriter::open(dataset, episode_columns(), options)?;
        let mut store = Self {
            writer,
            spool,
            pending: Vec::new(),
        };
        let mut report = StoreReport::default();
        let spooled = store.spooled()?;
        if spooled.is_empty() {
            return Ok((store, report));
        }
        let stored = store.ids_in_last_shard();
        for path in spooled {
            let name = path.display().to_string();
            let episode = fs::read(&path)
                .map_err(UnreadableSpool::Read)
                .and_then(|zip| PackagedEpisode::from_zip(zip).map_err(UnreadableSpool::Zip));
            match episode {
                Err(reason) => report.unreadable.push(format!("{name}: {reason}")),
                Ok(episode) if stored.contains(&episode.episode_id) => {
                    fs::remove_file(&path).map_err(io_error("remove", &path))?;
                    report.already_stored.push(episode.episode_id);
                }
                Ok(episode) => {
                    store.add(&episode, path)?;
                    report.respooled.push(episode.episode_id);
                }
            }
        }
        sync_dir(&store.spool)?;
        Ok((store, report))
    }

    /// Adds a packaged episode: spooled to disk first, then into the shard being filled.
    /// Returns the shard that closed to make room, if one did.
    pub fn commit(
        &mut self,
        episode: &PackagedEpisode,
    ) -> Result<Option<ClosedShard>, CaptureError> {
        let micros = chrono::Utc::now().timestamp_micros();
        let name = format!("{micros:017}-{}.zip", episode.episode_id);
        let (path, ()) = write_atomically(&self.spool, &name, |out| out.write_all(&episode.zip))?;
        self.add(episode, path)
    }

    /// Closes the shard being filled (and writes the index); returns it if it had episodes.
    pub fn flush(&mut self) -> Result<Option<ClosedShard>, CaptureError> {
        let closed = self.writer.finish()?;
        self.release(self.pending.len())?;
        Ok(closed)
    }

    /// Episodes waiting in the shard not closed yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn add(
        &mut self,
        episode: &PackagedEpisode,
        spooled: PathBuf,
    ) -> Result<Option<ClosedShard>, CaptureError> {
        let closed = self.writer.write(&episode.to_sample())?;
        if closed.is_some() {
            // The new sample opened the next shard; everything before it is on disk.
            self.release(self.pending.len())?;
        }
        self.pending.push(spooled);
        Ok(closed)
    }

    /// Removes the first `count` pending spool files (their shard is on disk).
    fn release(&mut self, count: usize) -> Result<(), CaptureError> {
        for path in self.pending.drain(..count) {
            fs::remove_file(&path).map_err(io_error("remove", &path))?;
        }
        if count > 0 {
            sync_dir(&self.spool)?;
        }
        Ok(())
    }

    /// Spool files, oldest first.
    fn spooled(&self) -> Result<Vec<PathBuf>, CaptureError> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.spool)
            .map_err(io_error("list", &self.spool))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "zip"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Episode ids in the last shard, when its file is here (a crash between closing a shard
    /// and emptying the spool can only involve that one).
    fn ids_in_last_shard(&self) -> BTreeSet<String> {
        let Some(last) = self.writer.index().shards.len().checked_sub(1) else {
            return BTreeSet::new();
        };
        let Ok(shard) = MdsReader::open(self.writer.dir()).and_then(|r| r.shard(last)) else {
            return BTreeSet::new();
        };
        (0..shard.len())
            .filter_map(|i| match shard.get(i).ok()?.remove("episode_id")? {
                MdsValue::Str(id) => Some(id),
                _ => None,
            })
            .collect()
    }
}

/// Why a spooled episode could not be taken back.
#[derive(Debug, thiserror::Error)]
enum UnreadableSpool {
    /// The file could not be read.
    #[error("{0}")]
    Read(#[source] std::io::Error),
    /// The file is not an episode zip.
    #[error("{0}")]
    Zip(#[source] super::package::EpisodeZipError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::package::test_support;
    use crate::capture::workspace::Workspace;

    fn episode(id: &str, bytes: usize) -> PackagedEpisode {
        test_support::episode(id, 2, bytes / 2)
    }

    fn ids(dir: &Path) -> Vec<String> {
        MdsReader::open(dir)
            .unwrap()
            .samples()
            .map(|s| match s.unwrap().remove("episode_id").unwrap() {
                MdsValue::Str(id) => id,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn spool_len(workspace: &Workspace) -> usize {
        fs::read_dir(workspace.spool()).unwrap().count()
    }

    #[test]
    fn episodes_stay_spooled_until_their_shard_closes() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::lock(dir.path()).unwrap();
        // Room for two of these episodes per shard, not three.
        let one = episode("aaaaaaaa", 1000).zip.len() as u64;
        assert!(one > 1500, "{one}");
        let options = WriterOptions {
            size_limit: Some(2 * one + 1500),
            ..WriterOptions::default()
        };
        let (mut store, report) =
            EpisodeStore::open(workspace.dataset(), workspace.spool(), options).unwrap();
        assert_eq!(report, StoreReport::default());
        assert!(store.commit(&episode("aaaaaaaa", 1000)).unwrap().is_none());
        assert_eq!(spool_len(&workspace), 1);
        assert!(store.commit(&episode("bbbbbbbb", 1000)).unwrap().is_none());
        // The third does not fit: the first two go to disk and leave the spool.
        let closed = store.commit(&episode("cccccccc", 1000)).unwrap().unwrap();
        assert_eq!(closed.entry.samples, 2);
        assert_eq!(spool_len(&workspace), 1);
        assert_eq!(store.pending(), 1);
        let closed = store.flush().unwrap().unwrap();
        assert_eq!(closed.number, 1);
        assert_eq!(spool_len(&workspace), 0);
        assert!(store.flush().unwrap().is_none());
        assert_eq!(ids(dir.path()), ["aaaaaaaa", "bbbbbbbb", "cccccccc"]);
    }

    #[test]
    fn after_a_crash_the_spool_is_written_again_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        {
            let workspace = Workspace::lock(dir.path()).unwrap();
            let (mut store, _) = EpisodeStore::open(
                workspace.dataset(),
                workspace.spool(),
                WriterOptions::default(),
            )
            .unwrap();
            store.commit(&episode("aaaaaaaa", 100)).unwrap();
            store.flush().unwrap();
            store.commit(&episode("bbbbbbbb", 100)).unwrap();
            // Killed here: b is only in memory and in the spool. Put a back into the spool
            // too, as if the process died between closing its shard and emptying the spool.
            let spool = workspace.spool();
            fs::write(
                spool.join("00000000000000001-aaaaaaaa.zip"),
                episode("aaaaaaaa", 100).zip,
            )
            .unwrap();
            fs::write(spool.join("99999999999999999-garbage1.zip"), b"not a zip").unwrap();
            drop(store);
        }
        let workspace = Workspace::lock(dir.path()).unwrap();
        let (mut store, report) = EpisodeStore::open(
            workspace.dataset(),
            workspace.spool(),
            WriterOptions::default(),
        )
        .unwrap();
        assert_eq!(report.already_stored, ["aaaaaaaa"]);
        assert_eq!(report.respooled, ["bbbbbbbb"]);
        assert_eq!(report.unreadable.len(), 1, "{report:?}");
        store.flush().unwrap();
        assert_eq!(ids(dir.path()), ["aaaaaaaa", "bbbbbbbb"]);
        // The unreadable file stays for a person to look at.
        assert_eq!(spool_len(&workspace), 1);
    }
}
