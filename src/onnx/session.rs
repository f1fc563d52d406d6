//! Opening one graph file as a session on the chosen execution provider.

use std::path::{Path, PathBuf};

use ort::session::Session;

use super::runtime::{ExecutionProvider, Runtime, RuntimeError};

/// A graph file could not be opened as a session.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The session could not be set up for the provider.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// ONNX Runtime refused the file.
    #[error("cannot load {path}: {source}")]
    Load {
        /// The graph file.
        path: PathBuf,
        /// What ONNX Runtime reported.
        #[source]
        source: ort::Error,
    },
}

/// Opens the graph at `path` as a session on `provider` (`cache_dir` holds TensorRT's caches).
pub fn open(
    runtime: &Runtime,
    provider: ExecutionProvider,
    cache_dir: &Path,
    path: &Path,
) -> Result<Session, OpenError> {
    runtime
        .session_builder(provider, cache_dir)?
        .commit_from_file(path)
        .map_err(|source| OpenError::Load {
            path: path.to_owned(),
            source,
        })
}
