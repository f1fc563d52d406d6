//! Command-line parsing: one struct per subcommand, filled from flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::capture::{CaptureArgs, CaptureOptions, DatasetArgs};
use crate::connection::ConnectionArgs;
use crate::logging::LogConfig;
use crate::model::ModelOptions;
use crate::room::media::VideoCodec;
use crate::room::{OfferStyle, RoomConfig, TlsFiles};
use gstneko::protocol::IceServer;

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
    /// How offers are worded: pion (as the real server: header extensions, msid, mid 2) or
    /// minimal (no header extensions or msid lines).
    #[arg(long, env = "NEKO_ROOM_OFFER_STYLE", value_enum, default_value_t = OfferStyle::Pion)]
    pub offer_style: OfferStyle,
    /// ICE servers given to clients, as Neko's `webrtc.iceservers.frontend` JSON
    /// (`[{"urls":["turn:host:3478"],"username":"u","credential":"p"}]`); default: the room's
    /// own STUN server.
    #[arg(long, env = "NEKO_ROOM_ICE_SERVERS", value_parser = parse_ice_servers)]
    pub ice_servers: Option<IceServerList>,
}

/// A JSON list of ICE servers from the command line.
#[derive(Debug, Clone)]
pub struct IceServerList(pub Vec<IceServer>);

/// Parses `--ice-servers`: a JSON list of `{"urls": [..], "username"?, "credential"?}`, each
/// with at least one `stun:`, `stuns:`, `turn:` or `turns:` URL.
pub fn parse_ice_servers(text: &str) -> Result<IceServerList, String> {
    let servers: Vec<IceServer> = serde_json::from_str(text).map_err(|error| {
        format!(
            "not a JSON list of ICE servers ({error}); expected e.g. [{{\"urls\":[\"stun:192.0.2.1:3478\"]}}]"
        )
    })?;
    for server in &servers {
        if server.urls.is_empty() {
            return Err("an ICE server has no \"urls\"".into());
        }
        if let Some(url) = server.urls.iter().find(|url| {
            !["stun:", "stuns:", "turn:", "turns:"]
                .iter()
                .any(|s| url.starts_with(s))
        }) {
            return Err(format!(
                "{url:?} is not a stun:, stuns:, turn: or turns: URL"
            ));
        }
    }
    Ok(IceServerList(servers))
}

impl RoomSettings {
    /// The sandbox room configuration these settings describe (bind and ICE addresses default).
    pub fn room_config(&self) -> RoomConfig {
        RoomConfig {
            width: self.size.0,
            height: self.size.1,
            rate: self.rate,
            codec: self.codec,
            user_password: self.user_password.clone(),
            admin_password: self.admin_password.clone(),
            offer_style: self.offer_style,
            ice_servers: self.ice_servers.as_ref().map(|list| list.0.clone()),
            ..RoomConfig::default()
        }
    }
}

/// `neko-agent room`.
#[derive(Debug, Clone, clap::Args)]
pub struct RoomArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, env = "NEKO_ROOM_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Serve https/wss with this PEM certificate chain (needs --tls-key).
    #[arg(long = "tls-cert", env = "NEKO_ROOM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long = "tls-key", env = "NEKO_ROOM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Room settings.
    #[command(flatten)]
    pub room: RoomSettings,
}

impl RoomArgs {
    /// The certificate and key to serve TLS with, when both are given.
    pub fn tls_files(&self) -> Option<TlsFiles> {
        Some(TlsFiles {
            cert: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
        })
    }
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

/// `neko-agent run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Settings of the embedded room used when no server is configured.
    #[command(flatten)]
    pub room: RoomSettings,
    /// The model and how to run it.
    #[command(flatten)]
    pub model: ModelOptions,
    /// The backend (local engine or a remote endpoint) and the remote endpoint's settings.
    #[command(flatten)]
    pub remote: crate::remote::RemoteArgs,
    /// The task (offline mode).
    #[arg(long, env = "NEKO_TASK", default_value = "Search the weather")]
    pub task: String,
    /// Action space and prompt: web or phone.
    #[arg(long, env = "NEKO_MODE", default_value = "web", value_parser = ["web", "phone"])]
    pub mode: String,
    /// Steps per task before giving up.
    #[arg(long, env = "NEKO_MAX_STEPS", default_value_t = 8)]
    pub max_steps: u32,
    /// Take tasks from chat (`/task …`, `/stop`, `/status`) and keep running.
    #[arg(long)]
    pub online: bool,
    /// Model calls per step: the first on the whole frame, the rest on crops around a click.
    #[arg(long, env = "REFINEMENT_STEPS", default_value_t = 5)]
    pub refinement_steps: u32,
    /// Frames to discard after joining, before the first step.
    #[arg(long, env = "NEKO_SKIP_INITIAL_FRAMES", default_value_t = 5)]
    pub skip_initial_frames: u32,
    /// Seconds one model call may take before the step is abandoned.
    #[arg(long, env = "NEKO_INFERENCE_TIMEOUT", default_value_t = 120.0)]
    pub inference_timeout: f64,
    /// Most tokens one model call may generate.
    #[arg(long, env = "NEKO_MAX_NEW_TOKENS", default_value_t = 256)]
    pub max_new_tokens: usize,
    /// Longest edge of the frame given to the model; larger frames are scaled down (Lanczos)
    /// first, as the Python agent does (a 1920×1080 screen becomes 1344×756).
    #[arg(long, env = "SIZE_LONGEST_EDGE", default_value_t = 1344)]
    pub size_longest_edge: u32,
    /// Accepted for compatibility and ignored: in the Python agent it never reached the image
    /// processor. The pixel budget is --min-pixels/--max-pixels.
    #[arg(long, env = "SIZE_SHORTEST_EDGE", hide = true)]
    pub size_shortest_edge: Option<u32>,
    /// Save the frame each step looks at to this PNG (relative: under /tmp/neko-agent/).
    #[arg(long, env = "FRAME_SAVE_PATH")]
    pub frame_save_path: Option<String>,
    /// Save each step's frame with its action drawn on it into this directory.
    #[arg(long, env = "CLICK_SAVE_PATH")]
    pub click_save_path: Option<String>,
    /// Prometheus port (else $PORT, else $NEKO_METRICS_PORT, else 9000; 0 picks a free one).
    #[arg(long)]
    pub metrics_port: Option<u16>,
    /// Do not serve metrics.
    #[arg(long)]
    pub no_metrics: bool,
    /// Receive video only (NEKO_AUDIO=0 does the same).
    #[arg(long)]
    pub no_audio: bool,
    /// Decoder: auto (NVDEC when available), nvdec or software.
    #[arg(long, env = "NEKO_DECODER", default_value = "auto", value_parser = ["auto", "nvdec", "software"])]
    pub decoder: String,
    /// Pipeline file for the agent's session (a name in pipelines/ or a path).
    #[arg(long, env = "NEKO_AGENT_PIPELINE", default_value = "agent")]
    pub pipeline: String,
    /// Seconds to wait for host control before a step's input fails.
    #[arg(long, env = "NEKO_HOST_TIMEOUT", default_value_t = 10.0)]
    pub host_timeout: f64,
    /// Longest wait, in seconds, for the screen to settle after an action.
    #[arg(long, env = "NEKO_SETTLE_TIMEOUT", default_value_t = 3.0)]
    pub settle_timeout: f64,
    /// Longest wait, in seconds, for a fresh video frame (newer than the last action) while
    /// connected; the run ends with status 3 when none comes.
    #[arg(long, env = "NEKO_FRAME_TIMEOUT", default_value_t = 10.0)]
    pub frame_timeout: f64,
    /// Longest wait, in seconds, for a lost connection to come back; the run ends with status 3
    /// when it does not.
    #[arg(long, env = "NEKO_RECONNECT_TIMEOUT", default_value_t = 60.0)]
    pub reconnect_timeout: f64,
    /// Check the settings, the model files and the server, print `ok` and exit.
    #[arg(long)]
    pub healthcheck: bool,
    /// Narrate each step and the answer aloud in the room (a second session sends the speech
    /// through the voice pipeline, as `neko-agent yap` does).
    #[arg(long, env = "NEKO_VOICE")]
    pub voice: bool,
    /// Voice settings for --voice (the YAP_* variables).
    #[command(flatten)]
    pub voice_settings: crate::voice::settings::VoiceArgs,
    /// Record each task as a training episode (frames and actions) into the capture dataset.
    #[arg(long)]
    pub capture: bool,
    /// Where and how `--capture` records.
    #[command(flatten)]
    pub capture_options: CaptureOptions,
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
    fn ice_server_lists() {
        let list = parse_ice_servers(
            r#"[{"urls":["stun:192.0.2.1:3478"]},{"urls":["turn:192.0.2.1:3478?transport=tcp"],"username":"u","credential":"p"}]"#,
        )
        .unwrap();
        assert_eq!(list.0.len(), 2);
        assert_eq!(list.0[1].username.as_deref(), Some("u"));
        let error = parse_ice_servers("stun:192.0.2.1").unwrap_err();
        assert!(error.contains("not a JSON list of ICE servers"), "{error}");
        let error = parse_ice_servers(r#"[{"urls":[]}]"#).unwrap_err();
        assert!(error.contains("no \"urls\""), "{error}");
        let error = parse_ice_servers(r#"[{"urls":["http://192.0.2.1"]}]"#).unwrap_err();
        assert!(error.contains("is not a stun:"), "{error}");
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
