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
