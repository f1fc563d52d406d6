//! What every Neko element has in common: the session properties (server, credentials, ICE,
//! reconnection), their validation into client and peer settings, and the `send-event` /
//! `event-received` signals.

use std::net::{AddrParseError, IpAddr};

use gst::glib;
use gst::prelude::*;
use gst_webrtc::WebRTCICETransportPolicy;

use crate::client::{
    ClientConfig, DEFAULT_MAX_FAILED_OFFERS, NekoClient, Target, TargetError, TrustError,
};
use crate::runtime::RUNTIME;
use crate::webrtc::PeerConfig;

/// Default jitterbuffer latency in milliseconds.
pub const DEFAULT_LATENCY_MS: u32 = 100;

/// Session properties that cannot be used; the text is what the element posts on the bus.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SettingsError {
    /// The URL or the credentials do not make a server to log in to.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The `ca-file` could not be read.
    #[error("ca-file: {0}")]
    CaFile(#[source] TrustError),
    /// An entry of `ice-local-addresses` is not an IP address.
    #[error("ice-local-addresses: {address:?} is not an IP address")]
    LocalAddress {
        /// The entry as written.
        address: String,
        /// Why it does not parse.
        #[source]
        source: AddrParseError,
    },
    /// `stun-server` is not a STUN URI.
    #[error("stun-server: {0:?} is not a stun://host:port URI")]
    StunServer(String),
    /// An entry of `turn-servers` is not a TURN URI with credentials (its userinfo redacted).
    #[error("turn-servers: {0} is not a turn(s)://user:pass@host:port URI")]
    TurnServer(String),
}

/// The session properties shared by `nekosrc` and `nekosink`.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    url: Option<String>,
    username: Option<String>,
    password: Option<String>,
    token: Option<String>,
    ca_file: Option<String>,
    stun_server: Option<String>,
    turn_servers: Vec<String>,
    ice_transport_policy: WebRTCICETransportPolicy,
    ice_local_addresses: Option<String>,
    latency: u32,
    reconnect: bool,
    max_failed_offers: u32,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            url: None,
            username: None,
            password: None,
            token: None,
            ca_file: None,
            stun_server: None,
            turn_servers: Vec::new(),
            ice_transport_policy: WebRTCICETransportPolicy::All,
            ice_local_addresses: None,
            latency: DEFAULT_LATENCY_MS,
            reconnect: true,
            max_failed_offers: DEFAULT_MAX_FAILED_OFFERS,
        }
    }
}

/// New specs for the session properties (changeable up to READY); each element class needs its
/// own, as a spec belongs to the class it is installed on.
pub fn properties() -> Vec<glib::ParamSpec> {
    let ready = glib::ParamFlags::READWRITE | gst::PARAM_FLAG_MUTABLE_READY;
    vec![
            glib::ParamSpecString::builder("url")
                .nick("URL")
                .blurb("Neko server: http(s)://host:port base URL (log in with username/password), or ws(s)://host/api/ws?token=…")
                .flags(ready)
                .build(),
            glib::ParamSpecString::builder("username")
                .nick("Username")
                .blurb("Username for REST login (POST /api/login)")
                .flags(ready)
                .build(),
            glib::ParamSpecString::builder("password")
                .nick("Password")
                .blurb("Password for REST login (write-only, never logged)")
                .flags(glib::ParamFlags::WRITABLE | gst::PARAM_FLAG_MUTABLE_READY)
                .build(),
            glib::ParamSpecString::builder("token")
                .nick("Token")
                .blurb("Session token to use instead of logging in (write-only, never logged)")
                .flags(glib::ParamFlags::WRITABLE | gst::PARAM_FLAG_MUTABLE_READY)
                .build(),
            glib::ParamSpecString::builder("ca-file")
                .nick("CA file")
                .blurb("PEM file with CA certificates trusted for https/wss besides the system's (a room with its own CA)")
                .flags(ready)
                .build(),
            glib::ParamSpecString::builder("stun-server")
                .nick("STUN server")
                .blurb("STUN server (stun://host:port); overrides the one the room announces")
                .flags(ready)
                .build(),
            gst::ParamSpecArray::builder("turn-servers")
                .nick("TURN servers")
                .blurb("TURN servers (turn(s)://user:pass@host:port, user and password percent-encoded), added to the room's")
                .element_spec(&glib::ParamSpecString::builder("turn-server").build())
                .flags(ready)
                .build(),
            glib::ParamSpecEnum::builder_with_default("ice-transport-policy", WebRTCICETransportPolicy::All)
                .nick("ICE transport policy")
                .blurb("all: any candidate; relay: only candidates relayed through a TURN server (from turn-servers or the room), failing with an error when none is reachable")
                .flags(ready)
                .build(),
            glib::ParamSpecString::builder("ice-local-addresses")
                .nick("ICE local addresses")
                .blurb("Comma-separated local IP addresses ICE may use (e.g. 127.0.0.1 for a room on this machine); empty for all interfaces")
                .flags(ready)
                .build(),
            glib::ParamSpecUInt::builder("latency")
                .nick("Latency")
                .blurb("Jitterbuffer latency in milliseconds")
                .default_value(DEFAULT_LATENCY_MS)
                .flags(ready)
                .build(),
            glib::ParamSpecBoolean::builder("reconnect")
                .nick("Reconnect")
                .blurb("Reconnect with exponential backoff (1 s to 30 s, with jitter) when the server is unreachable or the connection drops")
                .default_value(true)
                .flags(ready)
                .build(),
            glib::ParamSpecUInt::builder("max-failed-offers")
                .nick("Max failed offers")
                .blurb("Post an error after this many offers in a row from the room could not be answered; between them, wait like reconnects do")
                .minimum(1)
                .default_value(DEFAULT_MAX_FAILED_OFFERS)
                .flags(ready)
                .build(),
        ]
}

impl SessionSettings {
    /// Sets a session property; false when `name` is not one.
    pub fn set(&mut self, name: &str, value: &glib::Value) -> bool {
        let string = || value.get::<Option<String>>().ok().flatten();
        match name {
            "url" => self.url = string(),
            "username" => self.username = string(),
            "password" => self.password = string(),
            "token" => self.token = string(),
            "ca-file" => self.ca_file = string(),
            "stun-server" => self.stun_server = string(),
            "turn-servers" => {
                self.turn_servers = value
                    .get::<gst::Array>()
                    .map(|a| a.iter().filter_map(|v| v.get::<String>().ok()).collect())
                    .unwrap_or_default();
            }
            "ice-transport-policy" => {
                self.ice_transport_policy = value.get().unwrap_or(WebRTCICETransportPolicy::All);
            }
            "ice-local-addresses" => self.ice_local_addresses = string(),
            "latency" => self.latency = value.get().unwrap_or(DEFAULT_LATENCY_MS),
            "reconnect" => self.reconnect = value.get().unwrap_or(true),
            "max-failed-offers" => {
                self.max_failed_offers = value.get().unwrap_or(DEFAULT_MAX_FAILED_OFFERS)
            }
            _ => return false,
        }
        true
    }

    /// Reads a session property (the write-only ones read as `None`); `None` when `name` is not one.
    pub fn get(&self, name: &str) -> Option<glib::Value> {
        Some(match name {
            "url" => self.url.to_value(),
            "username" => self.username.to_value(),
            "ca-file" => self.ca_file.to_value(),
            "password" | "token" => None::<String>.to_value(),
            "stun-server" => self.stun_server.to_value(),
            "turn-servers" => gst::Array::new(self.turn_servers.clone()).to_value(),
            "ice-transport-policy" => self.ice_transport_policy.to_value(),
            "ice-local-addresses" => self.ice_local_addresses.to_value(),
            "latency" => self.latency.to_value(),
            "reconnect" => self.reconnect.to_value(),
            "max-failed-offers" => self.max_failed_offers.to_value(),
            _ => return None,
        })
    }

    /// Validates the settings into client settings and the peer's network settings (media
    /// directions left off: the element fills them in).
    pub(crate) fn resolve(&self) -> Result<(ClientConfig, PeerConfig), SettingsError> {
        let target = Target::new(
            self.url.as_deref().unwrap_or_default(),
            self.username.as_deref(),
            self.password.as_deref(),
            self.token.as_deref(),
        )?;
        let target = match self.ca_file.as_deref().filter(|path| !path.is_empty()) {
            Some(path) => target
                .with_ca_file(std::path::Path::new(path))
                .map_err(SettingsError::CaFile)?,
            None => target,
        };
        let local_addresses = self
            .ice_local_addresses
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse::<IpAddr>()
                    .map_err(|source| SettingsError::LocalAddress {
                        address: a.to_owned(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let stun_server = self.stun_server.clone().filter(|s| !s.is_empty());
        if let Some(stun) = &stun_server
            && !(stun.starts_with("stun://") || stun.starts_with("stuns://"))
        {
            return Err(SettingsError::StunServer(stun.clone()));
        }
        for turn in &self.turn_servers {
            let userinfo = turn
                .strip_prefix("turn://")
                .or_else(|| turn.strip_prefix("turns://"))
                .and_then(|rest| rest.rsplit_once('@'));
            if !userinfo.is_some_and(|(user, host)| user.contains(':') && !host.is_empty()) {
                return Err(SettingsError::TurnServer(crate::webrtc::redact_userinfo(
                    turn,
                )));
            }
        }
        let mut client = ClientConfig::new(target);
        client.reconnect = self.reconnect;
        client.max_failed_offers = self.max_failed_offers;
        let peer = PeerConfig {
            stun_server,
            turn_servers: self.turn_servers.clone(),
            relay_only: self.ice_transport_policy == WebRTCICETransportPolicy::Relay,
            local_addresses,
            latency_ms: self.latency,
            ..Default::default()
        };
        Ok((client, peer))
    }
}

/// The `send-event` action signal (JSON in, accepted out) and the `event-received` signal
/// (name, JSON) for an element type whose session client `client_of` returns.
pub fn signals<T>(client_of: fn(&T) -> Option<NekoClient>) -> Vec<glib::subclass::Signal>
where
    T: IsA<gst::Element> + 'static,
{
    vec![
        glib::subclass::Signal::builder("send-event")
            .param_types([String::static_type()])
            .return_type::<bool>()
            .action()
            .class_handler(move |args| {
                let element = args[0].get::<gst::Element>().ok()?;
                let client = element.downcast_ref::<T>().and_then(client_of);
                let json = args[1].get::<String>().unwrap_or_default();
                Some(send_event(&element, client, &json).to_value())
            })
            .build(),
        glib::subclass::Signal::builder("event-received")
            .param_types([String::static_type(), String::static_type()])
            .build(),
    ]
}

/// Sends one event (a JSON object with a string `event` field) through the element's session.
fn send_event(element: &gst::Element, client: Option<NekoClient>, json: &str) -> bool {
    let value = match serde_json::from_str::<serde_json::Value>(json) {
        Ok(value) if value.get("event").is_some_and(|e| e.is_string()) => value,
        Ok(_) => {
            gst::warning!(
                gst::CAT_DEFAULT,
                obj = element,
                "send-event needs a JSON object with a string \"event\" field"
            );
            return false;
        }
        Err(e) => {
            gst::warning!(
                gst::CAT_DEFAULT,
                obj = element,
                "send-event got invalid JSON: {e}"
            );
            return false;
        }
    };
    let Some(client) = client else {
        gst::warning!(
            gst::CAT_DEFAULT,
            obj = element,
            "send-event before the element was started"
        );
        return false;
    };
    let weak = element.downgrade();
    RUNTIME.spawn(async move {
        if let Err(error) = client.send_json(&value.to_string()).await
            && let Some(element) = weak.upgrade()
        {
            gst::warning!(gst::CAT_DEFAULT, obj = element, "event not sent: {error}");
        }
    });
    true
}
