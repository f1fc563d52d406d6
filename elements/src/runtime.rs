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

/// The panic message of a task that died by panicking; `None` when it ended otherwise.
pub fn panic_message(error: tokio::task::JoinError) -> Option<String> {
    if !error.is_panic() {
        return None;
    }
    let payload = error.into_panic();
    Some(
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into()),
    )
}
