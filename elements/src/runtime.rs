//! The tokio runtime that runs the elements' network tasks.

use std::sync::LazyLock;

/// Shared multi-threaded runtime for signalling; GStreamer threads never block on it.
pub static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("neko-signalling")
        .enable_all()
        .build()
        .expect("the signalling runtime could not be started")
});
