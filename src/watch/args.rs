//! `neko-agent watch`: its command line.

use std::path::PathBuf;

use neko_sandbox::cli::RoomSettings;

use crate::connection::ConnectionArgs;

/// `neko-agent watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Settings of the embedded room used when no server is configured.
    #[command(flatten)]
    pub room: RoomSettings,
    /// Stop after this many seconds (0: until Ctrl-C).
    #[arg(long, default_value_t = 0.0)]
    pub duration: f64,
    /// Write the last frame to this PNG file at exit.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Decoder: auto (NVDEC when available), nvdec or software.
    #[arg(long, env = "NEKO_DECODER", default_value = "auto", value_parser = ["auto", "nvdec", "software"])]
    pub decoder: String,
    /// Pipeline file (a name in pipelines/ or a path).
    #[arg(long, env = "NEKO_WATCH_PIPELINE", default_value = "watch")]
    pub pipeline: String,
    /// Seconds between stats lines.
    #[arg(long, default_value_t = 1.0)]
    pub interval: f64,
}
