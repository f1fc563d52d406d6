//! The `room` command line: the sandbox room's settings (also flattened into the commands that
//! start an embedded room) and the `neko-agent room` subcommand itself.

use std::net::SocketAddr;
use std::path::PathBuf;

use gstneko::protocol::IceServer;

use crate::media::VideoCodec;
use crate::{OfferStyle, Room, RoomConfig, RoomError, TlsFiles};

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

/// A JSON list of ICE servers from the command line.
#[derive(Debug, Clone)]
pub struct IceServerList(pub Vec<IceServer>);

/// Why a command-line value was refused; the text is what clap shows the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// `--size` (or a size typed elsewhere) is not `WIDTHxHEIGHT`.
    #[error("{0:?} is not WIDTHxHEIGHT (e.g. 1280x720)")]
    NotASize(String),
    /// A size whose sides are not numbers in range.
    #[error("{0:?}: width and height must be numbers from 16 to 8192")]
    SizeOutOfRange(String),
    /// `--ice-servers` is not JSON of the expected shape.
    #[error(
        "not a JSON list of ICE servers ({0}); expected e.g. [{{\"urls\":[\"stun:192.0.2.1:3478\"]}}]"
    )]
    NotAnIceServerList(String),
    /// An ICE server without URLs.
    #[error("an ICE server has no \"urls\"")]
    NoIceUrls,
    /// An ICE server URL of another scheme.
    #[error("{0:?} is not a stun:, stuns:, turn: or turns: URL")]
    NotAnIceUrl(String),
}

/// Parses `--ice-servers`: a JSON list of `{"urls": [..], "username"?, "credential"?}`, each
/// with at least one `stun:`, `stuns:`, `turn:` or `turns:` URL.
pub fn parse_ice_servers(text: &str) -> Result<IceServerList, ArgError> {
    let servers: Vec<IceServer> = serde_json::from_str(text)
        .map_err(|error| ArgError::NotAnIceServerList(error.to_string()))?;
    for server in &servers {
        if server.urls.is_empty() {
            return Err(ArgError::NoIceUrls);
        }
        if let Some(url) = server.urls.iter().find(|url| {
            !["stun:", "stuns:", "turn:", "turns:"]
                .iter()
                .any(|s| url.starts_with(s))
        }) {
            return Err(ArgError::NotAnIceUrl(url.clone()));
        }
    }
    Ok(IceServerList(servers))
}

/// Parses `WIDTHxHEIGHT`, each side 16 to 8192 pixels.
pub fn parse_size(text: &str) -> Result<(u32, u32), ArgError> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| ArgError::NotASize(text.to_owned()))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|v| (16..=8192).contains(v))
    };
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(ArgError::SizeOutOfRange(text.to_owned())),
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

    /// The whole room configuration: settings, listening address, TLS; on loopback the room
    /// offers only loopback ICE candidates.
    pub fn room_config(&self) -> RoomConfig {
        let mut config = self.room.room_config();
        config.bind = self.bind;
        config.tls = self.tls_files();
        if self.bind.ip().is_loopback() {
            config.ice_addresses = vec![self.bind.ip()];
        }
        config
    }
}

/// Why `neko-agent room` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RoomCommandError {
    /// The room did not start (address taken, bad certificate, GStreamer).
    #[error("the sandbox room could not start")]
    Start(#[source] RoomError),
    /// Waiting for Ctrl-C failed.
    #[error("waiting for Ctrl-C")]
    Signal(#[source] std::io::Error),
}

/// `neko-agent room`: serves the room until Ctrl-C (GStreamer and the neko plugin must be
/// initialised).
pub async fn run(args: &RoomArgs) -> Result<(), RoomCommandError> {
    let room = Room::start(args.room_config())
        .await
        .map_err(RoomCommandError::Start)?;
    println!(
        "sandbox room on {} (passwords from --user-password and --admin-password); Ctrl-C stops it",
        room.base_url()
    );
    let waited = tokio::signal::ctrl_c().await;
    room.shutdown().await;
    waited.map_err(RoomCommandError::Signal)
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
        let error = parse_ice_servers("stun:192.0.2.1").unwrap_err().to_string();
        assert!(error.contains("not a JSON list of ICE servers"), "{error}");
        let error = parse_ice_servers(r#"[{"urls":[]}]"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no \"urls\""), "{error}");
        let error = parse_ice_servers(r#"[{"urls":["http://192.0.2.1"]}]"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not a stun:"), "{error}");
    }
}
