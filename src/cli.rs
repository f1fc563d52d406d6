//! The command line: assembles the subcommands, each of which owns its arguments (flags and
//! environment variables) next to its code.

use clap::{Parser, Subcommand};

use neko_sandbox::cli::RoomArgs;

use crate::agent::RunArgs;
use crate::capture::{CaptureArgs, DatasetArgs};
use crate::logging::LogConfig;
use crate::manual::ManualArgs;
use crate::watch::WatchArgs;

/// AI agents that see, drive and talk to Neko rooms.
#[derive(Debug, Parser)]
#[command(name = "neko-agent", version, about)]
pub struct Cli {
    /// Logging.
    #[command(flatten)]
    pub log: LogConfig,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the sandbox room: a Neko-v3-compatible server with a synthetic desktop.
    Room(RoomArgs),
    /// Connect to a room and show live stats (fps, size, codec, bitrate, decoder, latency).
    /// Without a server configured, starts the embedded sandbox room and watches it.
    Watch(WatchArgs),
    /// Drive a room by hand: a REPL on a terminal, or commands piped on stdin as a script.
    Manual(ManualArgs),
    /// Run the ShowUI agent: a task given here (offline) or tasks from chat (--online).
    /// Without a server configured, starts the embedded sandbox room and uses the fixture model.
    Run(Box<RunArgs>),
    /// Speak in a Neko room: chat commands (/yap …) turned into speech sent as the room's microphone
    Yap(Box<crate::yap::YapArgs>),
    /// Record training episodes from chat (/start <task>, Action: {json}, /stop) into MDS
    /// shards, locally and on S3.
    Capture(Box<CaptureArgs>),
    /// List or extract the episodes of a capture dataset.
    Dataset(DatasetArgs),
    /// Ask a running subcommand's readiness probe (`/readyz`); exit 0 when it is ready, 1 when
    /// not (for container healthchecks).
    Healthcheck(crate::healthcheck::HealthcheckArgs),
    /// Prepare models: `model export` turns ShowUI-2B (or any Qwen2-VL checkpoint) into the
    /// ONNX graphs the agent loads, after checking this machine can hold the export.
    Model(crate::model_export::ModelArgs),
    /// Serve the REST API: tasks queued durably and run by workers in this process (or, with
    /// --queue redis://…, by `neko-agent worker` processes), capture and voice. Loopback only
    /// unless a token is set.
    Serve(Box<crate::service::args::ServeArgs>),
    /// Run tasks from the service's Redis queue (any number of workers, on any machine).
    Worker(Box<crate::service::args::WorkerArgs>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
