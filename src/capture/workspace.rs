//! Capture's own files inside the dataset directory, under `.capture/` (readers of the dataset
//! ignore it): a lock so that one capture uses a directory at a time, the folders of episodes
//! being recorded, and packaged episodes whose shard is not closed yet.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::error::{CaptureError, io_error};
use crate::mds::lock_exclusive;

/// The folder of capture's own files inside the dataset directory.
const HIDDEN_DIR: &str = ".capture";

/// The capture workspace of a dataset directory, locked while it exists.
#[derive(Debug)]
pub struct Workspace {
    dataset: PathBuf,
    root: PathBuf,
    _lock: File,
}

impl Workspace {
    /// Creates (if needed) and locks the workspace of `dataset`.
    pub fn lock(dataset: &Path) -> Result<Self, CaptureError> {
        let root = dataset.join(HIDDEN_DIR);
        for dir in [root.join("episodes"), root.join("spool")] {
            fs::create_dir_all(&dir).map_err(io_error("create the folder", &dir))?;
        }
        let lock_path = root.join("lock");
        let lock = File::create(&lock_path).map_err(io_error("create", &lock_path))?;
        if !lock_exclusive(&lock).map_err(io_error("lock", &lock_path))? {
            return Err(CaptureError::Corrupt {
                path: dataset.to_owned(),
                reason: "another capture is writing this dataset; stop it, or give this one its own CAPTURE_OUT".into(),
            });
        }
        Ok(Self {
            dataset: dataset.to_owned(),
            root,
            _lock: lock,
        })
    }

    /// The dataset directory (`index.json`, shards).
    pub fn dataset(&self) -> &Path {
        &self.dataset
    }

    /// Where episodes are recorded, one folder each.
    pub fn episodes(&self) -> PathBuf {
        self.root.join("episodes")
    }

    /// Where packaged episodes wait until their shard is closed.
    pub fn spool(&self) -> PathBuf {
        self.root.join("spool")
    }

    /// The spool of the dataset at `dataset`, read without taking the lock.
    pub fn spool_of(dataset: &Path) -> PathBuf {
        dataset.join(HIDDEN_DIR).join("spool")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_capture_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = Workspace::lock(dir.path()).unwrap();
        assert!(first.episodes().is_dir() && first.spool().is_dir());
        let error = Workspace::lock(dir.path()).unwrap_err().to_string();
        assert!(error.contains("another capture"), "{error}");
        drop(first);
        Workspace::lock(dir.path()).unwrap();
    }
}
