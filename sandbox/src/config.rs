//! Settings a sandbox room starts with.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use gstneko::protocol::{IceServer, MemberProfile, Settings};

use super::media::VideoCodec;
use super::offer_style::OfferStyle;
use super::tls::TlsFiles;

/// The session cookie (§1.2); off by default like Neko.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieConfig {
    /// Cookie auth on: login sets the cookie and answers without `token`.
    pub enabled: bool,
    /// Cookie name.
    pub name: String,
    /// Lifetime from login.
    pub expiration: Duration,
    /// `Secure` attribute (and then `SameSite=None`).
    pub secure: bool,
    /// `HttpOnly` attribute.
    pub http_only: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            name: "NEKO_SESSION".into(),
            expiration: Duration::from_secs(24 * 60 * 60),
            secure: true,
            http_only: true,
        }
    }
}

/// Everything a [`Room`](super::Room) needs to start.
#[derive(Clone)]
pub struct RoomConfig {
    /// Listen address; the default `127.0.0.1:0` picks a free port.
    pub bind: SocketAddr,
    /// Serve `https`/`wss` with this certificate and key instead of plain `http`/`ws`.
    pub tls: Option<TlsFiles>,
    /// Password that logs in as a user.
    pub user_password: String,
    /// Password that logs in as an admin (tested first).
    pub admin_password: String,
    /// Profile template of users (`name` empty → the username).
    pub user_profile: MemberProfile,
    /// Profile template of admins (`name` empty → the username).
    pub admin_profile: MemberProfile,
    /// Screen width in pixels.
    pub width: u32,
    /// Screen height in pixels.
    pub height: u32,
    /// Screen refresh rate.
    pub rate: u32,
    /// Video codec of the media side.
    pub codec: VideoCodec,
    /// Initial room settings.
    pub settings: Settings,
    /// Session cookie.
    pub cookie: CookieConfig,
    /// Interval of the server's `system/heartbeat` + ping (Neko: 10 s).
    pub heartbeat_period: Duration,
    /// How long an abnormally closed socket keeps its session connected (Neko: 5 s).
    pub delayed_disconnect: Duration,
    /// Advertised as `system/init.touch_events`.
    pub touch_events: bool,
    /// The chat plugin's global `enabled` flag.
    pub chat_enabled: bool,
    /// Start the media side (GStreamer); off runs the control plane alone.
    pub media: bool,
    /// Local addresses ICE may use (empty: every interface).
    pub ice_addresses: Vec<IpAddr>,
    /// Largest WebSocket message (and frame) a client may send, in bytes; a bigger one closes
    /// the connection with code 1009. Neko sets no limit.
    pub max_message_size: usize,
    /// Most bytes that may wait in one socket's outgoing queue; a client that lets more pile up
    /// (it does not read) is disconnected.
    pub outbox_bytes: usize,
    /// How the room words its offers (the real server's shape by default).
    pub offer_style: OfferStyle,
    /// The ICE servers given to clients in `signal/provide.iceservers`; `None` gives the
    /// room's own STUN server on the bind address, as the real server gives its default STUN
    /// entry.
    pub ice_servers: Option<Vec<IceServer>>,
}

/// Default of [`RoomConfig::max_message_size`]: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1024 * 1024;

/// Default of [`RoomConfig::outbox_bytes`]: 16 MiB, room for 16 of the largest messages.
pub const DEFAULT_OUTBOX_BYTES: usize = 16 * 1024 * 1024;

impl Default for RoomConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            tls: None,
            user_password: "neko".into(),
            admin_password: "admin".into(),
            user_profile: MemberProfile::user(),
            admin_profile: MemberProfile::admin(),
            width: 1280,
            height: 720,
            rate: 30,
            codec: VideoCodec::default(),
            settings: Settings::default(),
            cookie: CookieConfig::default(),
            heartbeat_period: Duration::from_secs(10),
            delayed_disconnect: Duration::from_secs(5),
            touch_events: true,
            chat_enabled: true,
            media: true,
            ice_addresses: Vec::new(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            outbox_bytes: DEFAULT_OUTBOX_BYTES,
            offer_style: OfferStyle::default(),
            ice_servers: None,
        }
    }
}

impl RoomConfig {
    /// A room of `width × height` at `rate` fps whose ICE stays on the loopback address.
    pub fn loopback(width: u32, height: u32, rate: u32) -> Self {
        Self {
            width,
            height,
            rate,
            ice_addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            ..Self::default()
        }
    }

    /// A room without the media side: the control plane (REST, WebSocket, sessions) alone.
    pub fn signalling_only() -> Self {
        Self {
            media: false,
            ..Self::default()
        }
    }
}

impl std::fmt::Debug for RoomConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomConfig")
            .field("bind", &self.bind)
            .field("tls", &self.tls)
            .field("user_password", &"<redacted>")
            .field("admin_password", &"<redacted>")
            .field("screen", &(self.width, self.height, self.rate))
            .field("codec", &self.codec)
            .field("settings", &self.settings)
            .field("cookie", &self.cookie)
            .field("heartbeat_period", &self.heartbeat_period)
            .field("delayed_disconnect", &self.delayed_disconnect)
            .field("media", &self.media)
            .field("max_message_size", &self.max_message_size)
            .field("outbox_bytes", &self.outbox_bytes)
            .field("offer_style", &self.offer_style)
            .finish_non_exhaustive()
    }
}
