//! The one error type of capture: what failed, on which file, and what to do about it.

use std::io;
use std::path::{Path, PathBuf};

use crate::mds::MdsError;

use super::package::ZipFailure;
use super::remote::RemoteError;

/// Anything that can go wrong while recording or storing episodes.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A file operation failed.
    #[error("cannot {action} {path}: {source}{hint}", hint = io_hint(source))]
    Io {
        /// What was being done, e.g. "write frame".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file of an episode or dataset holds something unusable.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The MDS dataset could not be written or read.
    #[error(transparent)]
    Mds(#[from] MdsError),
    /// The remote copy failed.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// Building an episode's zip failed.
    #[error("cannot build the zip of episode {episode}: {reason}")]
    Zip {
        /// The episode id.
        episode: String,
        /// What the zip writer said.
        #[source]
        reason: ZipFailure,
    },
}

impl CaptureError {
    /// Whether the disk is full (the data is kept where it is and the write is retried later).
    pub fn is_disk_full(&self) -> bool {
        let source = match self {
            Self::Io { source, .. } => source,
            Self::Mds(MdsError::Write { source, .. }) => source,
            _ => return false,
        };
        is_storage_full(source)
    }
}

/// A constructor for [`CaptureError::Io`], for `map_err`.
pub(crate) fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> CaptureError {
    let path = path.to_owned();
    move |source| CaptureError::Io {
        action,
        path,
        source,
    }
}

/// Whether an OS error means there is no space (or quota) left.
pub(crate) fn is_storage_full(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

fn io_hint(error: &io::Error) -> &'static str {
    if is_storage_full(error) {
        "; the disk is full: free space there (what was recorded is kept and written when it can be)"
    } else if error.kind() == io::ErrorKind::PermissionDenied {
        "; check the permissions of CAPTURE_OUT"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_says_so() {
        let error =
            io_error("write frame", Path::new("/data/x.jpg"))(io::Error::from_raw_os_error(
                28, // ENOSPC
            ));
        assert!(error.is_disk_full());
        let text = error.to_string();
        assert!(text.contains("cannot write frame /data/x.jpg"), "{text}");
        assert!(text.contains("the disk is full"), "{text}");
    }
}
