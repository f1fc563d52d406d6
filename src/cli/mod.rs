//! Command-line parsing: one struct per subcommand, filled from flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::connection::ConnectionArgs;
use crate::logging::LogConfig;
use crate::room::media::VideoCodec;

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
}

/// Sandbox room settings.
#[derive(Debug, Clone, clap::Args)]
pub struct RoomSettings {
    /// Screen size, WIDTHxHEIGHT.
    #[arg(long, env = "NEKO_ROOM_SIZE", default_value = "1280x720", value_parser = parse_size)]
    pub size: (u32, u32),
    /// Frames per second.
    #[arg(long, env = "NEKO_ROOM_RATE", default_value_t = 30)]
    pub rate: u32,
    /// Video codec.
    #[arg(long, env = "NEKO_ROOM_CODEC", value_enum, default_value_t = VideoCodec::Vp8)]
    pub codec: VideoCodec,
    /// Password that logs in as a user.
    #[arg(long, env = "NEKO_ROOM_USER_PASSWORD", default_value = "neko")]
    pub user_password: String,
    /// Password that logs in as an admin.
    #[arg(long, env = "NEKO_ROOM_ADMIN_PASSWORD", default_value = "admin")]
    pub admin_password: String,
}

/// `neko-agent room`.
#[derive(Debug, Clone, clap::Args)]
pub struct RoomArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, env = "NEKO_ROOM_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Room settings.
    #[command(flatten)]
    pub room: RoomSettings,
}

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

/// Parses `WIDTHxHEIGHT`.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{text:?} is not WIDTHxHEIGHT (e.g. 1280x720)"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|v| (16..=8192).contains(v))
    };
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(format!(
            "{text:?}: width and height must be numbers from 16 to 8192"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1920x1080"), Ok((1920, 1080)));
        assert!(parse_size("1920").is_err());
        assert!(parse_size("0x10").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
