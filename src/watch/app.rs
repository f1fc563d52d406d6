//! `neko-agent watch` as a command: the room to watch (the configured server, else the embedded
//! sandbox room), Ctrl-C, and the summary printed at the end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use neko_sandbox::RoomError;

use super::{WatchArgs, WatchError, WatchOptions};
use crate::connection::ConnectionError;

/// Why `neko-agent watch` failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchCommandError {
    /// The server settings are incomplete or wrong.
    #[error(transparent)]
    Settings(#[from] ConnectionError),
    /// No server was configured and the embedded room did not start.
    #[error("the embedded sandbox room could not start")]
    EmbeddedRoom(#[source] RoomError),
    /// The watch pipeline failed.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// The thread running the pipeline panicked.
    #[error("the watch task failed")]
    Task(#[source] tokio::task::JoinError),
    /// The watch ended without a single frame.
    #[error("no video frame arrived")]
    NoFrames,
}

impl WatchCommandError {
    /// The exit status: 3 when the room could not be joined or was lost, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Watch(WatchError::Connection(_)) => 3,
            _ => 1,
        }
    }
}

/// Watches until `--duration` ends or Ctrl-C, printing stats lines and a summary (GStreamer and
/// the neko plugin must be initialised).
pub async fn run(args: WatchArgs) -> Result<(), WatchCommandError> {
    let mut embedded = None;
    let session = if args.connection.is_configured() {
        args.connection.session()?
    } else {
        let (room, connection) = crate::embedded_room::start(&args.room, "watcher")
            .await
            .map_err(WatchCommandError::EmbeddedRoom)?;
        println!(
            "no NEKO_URL/NEKO_WS given: watching the embedded sandbox room at {}",
            room.base_url()
        );
        embedded = Some(room);
        connection.session()?
    };
    let options = WatchOptions {
        session,
        variables: BTreeMap::from([("decoder".to_owned(), args.decoder.clone())]),
        pipeline: args.pipeline.clone(),
        duration: (args.duration > 0.0).then(|| Duration::from_secs_f64(args.duration)),
        png: args.png.clone(),
        interval: Duration::from_secs_f64(args.interval.max(0.1)),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let ctrl_c = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.store(true, Ordering::Relaxed);
        }
    });
    let watched = tokio::task::spawn_blocking(move || super::run(&options, &stop)).await;
    if let Some(room) = embedded {
        room.shutdown().await;
    }
    let summary = watched.map_err(WatchCommandError::Task)??;
    println!(
        "received {} frames, last {}x{}",
        summary.frames, summary.size.0, summary.size.1
    );
    if summary.frames == 0 {
        return Err(WatchCommandError::NoFrames);
    }
    Ok(())
}
