//! `neko-agent manual`: its command line.

use neko_sandbox::cli::parse_size;

use crate::connection::ConnectionArgs;

/// `neko-agent manual`.
#[derive(Debug, Clone, clap::Args)]
pub struct ManualArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Coordinates are fractions of the screen, 0..1, instead of pixels.
    #[arg(long, visible_alias = "normalized")]
    pub norm: bool,
    /// Screen size for coordinates until the server reports its own, WIDTHxHEIGHT.
    #[arg(long, env = "NEKO_SIZE", default_value = "1280x720", value_parser = parse_size)]
    pub size: (u32, u32),
    /// Do not ask for host control by itself; input then needs `host` first.
    #[arg(long)]
    pub no_auto_host: bool,
    /// Signalling only: no WebRTC session (control works over the WebSocket alone).
    #[arg(long)]
    pub no_media: bool,
    /// Receive video only.
    #[arg(long)]
    pub no_audio: bool,
    /// Seconds input waits for host control (and for a dropped connection to come back).
    #[arg(long, env = "NEKO_HOST_TIMEOUT", default_value_t = 10.0)]
    pub host_timeout: f64,
    /// Seconds to wait for the room at start before giving up.
    #[arg(long, env = "NEKO_CONNECT_TIMEOUT", default_value_t = 20.0)]
    pub connect_timeout: f64,
    /// Run this command instead of reading stdin (repeatable; runs in order, then exits).
    #[arg(short = 'c', long = "command", value_name = "LINE")]
    pub commands: Vec<String>,
    /// Pipeline file for the media session (a name in pipelines/ or a path).
    #[arg(long, env = "NEKO_MANUAL_PIPELINE", default_value = "manual")]
    pub pipeline: String,
}
