//! Opening one graph file as a session on the chosen execution provider.

use std::path::{Path, PathBuf};

use ort::session::Session;

use super::profile::ShapeProfile;
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
    load(runtime, provider, cache_dir, path, None)
}

/// A graph opened by [`open_profiled`].
pub struct Profiled {
    /// The session.
    pub session: Session,
    /// The provider it runs on.
    pub provider: ExecutionProvider,
    /// Whether its TensorRT engine was built for one of the profiles offered.
    pub ranged: bool,
}

/// Opens the graph at `path` like [`open`], except that on TensorRT its engine gets explicit
/// shape ranges: the first of `profiles` that TensorRT takes. If it takes none (a graph split
/// between TensorRT and CUDA has inner inputs no profile can name; an input may be a shape value
/// in one TensorRT version and a tensor in another; the engine for the largest shapes may not
/// fit the GPU), the graph runs on CUDA instead: TensorRT without explicit ranges would rebuild
/// its engine every time a shape grows past those seen. With no `profiles`, or off TensorRT,
/// this is [`open`].
pub fn open_profiled(
    runtime: &Runtime,
    provider: ExecutionProvider,
    cache_dir: &Path,
    path: &Path,
    profiles: &[ShapeProfile],
) -> Result<Profiled, OpenError> {
    if provider != ExecutionProvider::TensorRt || profiles.is_empty() {
        let session = open(runtime, provider, cache_dir, path)?;
        return Ok(Profiled {
            session,
            provider,
            ranged: false,
        });
    }
    let mut refusals = Vec::with_capacity(profiles.len());
    for (index, profile) in profiles.iter().enumerate() {
        match load(runtime, provider, cache_dir, path, Some(profile)) {
            Ok(session) => {
                tracing::info!(
                    path = %path.display(),
                    profile = index,
                    min = %profile.min_shapes(),
                    max = %profile.max_shapes(),
                    "TensorRT engine built for explicit shape ranges"
                );
                return Ok(Profiled {
                    session,
                    provider,
                    ranged: true,
                });
            }
            Err(OpenError::Load { source, .. }) => refusals.push(source.to_string()),
            Err(other) => return Err(other),
        }
    }
    tracing::warn!(
        path = %path.display(),
        reasons = %refusals.join(" | "),
        "TensorRT could not build this graph for explicit shape ranges (reasons below); \
         the graph runs on CUDA instead, as TensorRT without them would rebuild its engine \
         whenever an input grows past the shapes seen"
    );
    let session = open(runtime, ExecutionProvider::Cuda, cache_dir, path)?;
    Ok(Profiled {
        session,
        provider: ExecutionProvider::Cuda,
        ranged: false,
    })
}

fn load(
    runtime: &Runtime,
    provider: ExecutionProvider,
    cache_dir: &Path,
    path: &Path,
    profile: Option<&ShapeProfile>,
) -> Result<Session, OpenError> {
    runtime
        .session_builder(provider, cache_dir, profile)?
        .commit_from_file(path)
        .map_err(|source| OpenError::Load {
            path: path.to_owned(),
            source,
        })
}
