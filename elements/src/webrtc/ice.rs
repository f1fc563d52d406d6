//! ICE settings for webrtcbin: local address pinning, and Neko's ICE server list as
//! webrtcbin STUN/TURN URIs.

use std::ffi::{CString, c_char, c_int, c_void};
use std::net::IpAddr;

use gst::glib;
use gst::prelude::*;
use gst_webrtc::WebRTCICETransportPolicy;

use super::CAT;
use crate::protocol::IceServer;

// libnice is what webrtcbin's ICE object wraps; these three calls have been stable since 0.1.
#[link(name = "nice")]
unsafe extern "C" {
    fn nice_address_new() -> *mut c_void;
    fn nice_address_free(address: *mut c_void);
    fn nice_address_set_from_string(address: *mut c_void, text: *const c_char) -> c_int;
    fn nice_agent_add_local_address(agent: *mut c_void, address: *const c_void) -> c_int;
}

/// Errors while configuring ICE.
#[derive(Debug, thiserror::Error)]
pub enum IceError {
    /// webrtcbin's ICE object does not expose a libnice agent.
    #[error("webrtcbin's ICE agent is not libnice; cannot restrict ICE to {0:?}")]
    NoNiceAgent(Vec<IpAddr>),
    /// libnice refused an address.
    #[error("libnice refused the local ICE address {0}")]
    Refused(IpAddr),
    /// Relay-only ICE without a TURN server from the settings or the room.
    #[error(
        "ice-transport-policy is relay but neither the settings nor the room name a TURN server; add one (turn-servers, NEKO_TURN_URL) or use the policy all"
    )]
    NoTurnServer,
    /// webrtcbin refused a TURN URI.
    #[error("webrtcbin refused the TURN server {0} (expected turn(s)://user:pass@host:port)")]
    TurnRefused(String),
}

/// Restricts the ICE candidates webrtcbin gathers to `addresses` (all interfaces when empty).
/// Must be called before the first local description is set.
pub fn pin_local_addresses(webrtcbin: &gst::Element, addresses: &[IpAddr]) -> Result<(), IceError> {
    if addresses.is_empty() {
        return Ok(());
    }
    let ice = webrtcbin.property::<glib::Object>("ice-agent");
    if ice.find_property("agent").is_none() {
        return Err(IceError::NoNiceAgent(addresses.to_vec()));
    }
    let agent = ice.property::<glib::Object>("agent");
    for address in addresses {
        let text = CString::new(address.to_string()).map_err(|_| IceError::Refused(*address))?;
        // SAFETY: `agent` is a live NiceAgent kept alive by the ICE object; the NiceAddress is
        // allocated and freed by libnice itself and only borrowed for the duration of the call.
        let added = unsafe {
            let nice_address = nice_address_new();
            let ok = nice_address_set_from_string(nice_address, text.as_ptr()) != 0
                && nice_agent_add_local_address(agent.as_ptr() as *mut c_void, nice_address) != 0;
            nice_address_free(nice_address);
            ok
        };
        if !added {
            return Err(IceError::Refused(*address));
        }
    }
    Ok(())
}

/// STUN and TURN URIs in webrtcbin's syntax.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct IceUris {
    /// `stun://host:port`, the first STUN server.
    pub stun: Option<String>,
    /// `turn(s)://user:pass@host:port[?transport=…]` entries.
    pub turn: Vec<String>,
}

impl IceUris {
    /// Converts Neko's `iceservers` list (browser syntax) and appends user-configured servers.
    pub fn from_servers(
        servers: &[IceServer],
        user_stun: Option<&str>,
        user_turn: &[String],
    ) -> Self {
        let mut uris = Self::default();
        for server in servers {
            for url in &server.urls {
                if let Some(rest) = url
                    .strip_prefix("stun:")
                    .or_else(|| url.strip_prefix("stuns:"))
                {
                    uris.stun
                        .get_or_insert_with(|| format!("stun://{}", rest.trim_start_matches("//")));
                } else if let Some((scheme, rest)) = url.split_once(':')
                    && (scheme == "turn" || scheme == "turns")
                {
                    let user = encode_userinfo(server.username.as_deref().unwrap_or_default());
                    let pass = encode_userinfo(server.credential.as_deref().unwrap_or_default());
                    uris.turn.push(format!(
                        "{scheme}://{user}:{pass}@{}",
                        rest.trim_start_matches("//")
                    ));
                } else {
                    gst::warning!(
                        CAT,
                        "ignoring an ICE server URL that is neither stun: nor turn: {url}"
                    );
                }
            }
        }
        if let Some(stun) = user_stun.filter(|s| !s.is_empty()) {
            uris.stun = Some(stun.to_owned());
        }
        uris.turn
            .extend(user_turn.iter().filter(|t| !t.is_empty()).cloned());
        uris
    }

    /// Applies the URIs and the transport policy to a webrtcbin; relay-only ICE needs a TURN
    /// server.
    pub fn apply(&self, webrtcbin: &gst::Element, relay_only: bool) -> Result<(), IceError> {
        if relay_only && self.turn.is_empty() {
            return Err(IceError::NoTurnServer);
        }
        let policy = if relay_only {
            WebRTCICETransportPolicy::Relay
        } else {
            WebRTCICETransportPolicy::All
        };
        webrtcbin.set_property("ice-transport-policy", policy);
        if let Some(stun) = &self.stun {
            webrtcbin.set_property("stun-server", stun);
        }
        for turn in &self.turn {
            if !webrtcbin.emit_by_name::<bool>("add-turn-server", &[turn]) {
                return Err(IceError::TurnRefused(redact_userinfo(turn)));
            }
        }
        Ok(())
    }
}

/// A server URI with its `user:pass@` part replaced by `***@`, for messages.
pub fn redact_userinfo(uri: &str) -> String {
    match (uri.split_once("://"), uri.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &uri[at..]),
        _ => uri.to_owned(),
    }
}

/// The candidate types (`host`, `srflx`, `prflx`, `relay`) of the local and remote candidates
/// of the pair ICE selected, from webrtcbin's `get-stats`; `None` before a pair is selected.
pub fn selected_candidate_types(webrtcbin: &gst::Element) -> Option<(String, String)> {
    let promise = gst::Promise::new();
    webrtcbin.emit_by_name::<()>("get-stats", &[&None::<gst::Pad>, &promise]);
    if promise.wait() != gst::PromiseResult::Replied {
        return None;
    }
    let reply = promise.get_reply()?;
    let entries: Vec<gst::Structure> = reply
        .iter()
        .filter_map(|(_, value)| value.get::<gst::Structure>().ok())
        .collect();
    let candidate_type = |id: &str| {
        entries
            .iter()
            .find(|s| s.get::<&str>("id").ok() == Some(id))
            .and_then(|s| s.get::<String>("candidate-type").ok())
    };
    let pair = entries
        .iter()
        .find(|s| s.get::<String>("local-candidate-id").is_ok())?;
    let local = candidate_type(pair.get::<&str>("local-candidate-id").ok()?)?;
    let remote = candidate_type(pair.get::<&str>("remote-candidate-id").ok()?)?;
    Some((local, remote))
}

/// Percent-encodes everything but unreserved characters, for the user info of a TURN URI.
pub fn encode_userinfo(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(urls: &[&str], user: Option<&str>, pass: Option<&str>) -> IceServer {
        IceServer {
            urls: urls.iter().map(|u| u.to_string()).collect(),
            username: user.map(str::to_owned),
            credential: pass.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn converts_browser_syntax_and_merges_user_servers() {
        let servers = [
            server(&["stun:stun.example.org:3478"], None, None),
            server(
                &["turn:turn.example.org:3478?transport=udp"],
                Some("u@x"),
                Some("p:w"),
            ),
        ];
        let uris = IceUris::from_servers(&servers, None, &["turn://a:b@h:1".into()]);
        assert_eq!(uris.stun.as_deref(), Some("stun://stun.example.org:3478"));
        assert_eq!(
            uris.turn,
            vec![
                "turn://u%40x:p%3Aw@turn.example.org:3478?transport=udp",
                "turn://a:b@h:1"
            ]
        );
        let user = IceUris::from_servers(&servers, Some("stun://mine:1"), &[]);
        assert_eq!(user.stun.as_deref(), Some("stun://mine:1"));
    }

    #[test]
    fn relay_without_a_turn_server_is_refused_and_userinfo_is_redacted() {
        gst::init().unwrap();
        let webrtcbin = gst::ElementFactory::make("webrtcbin").build().unwrap();
        let none = IceUris::default();
        assert!(matches!(
            none.apply(&webrtcbin, true),
            Err(IceError::NoTurnServer)
        ));
        let turn = IceUris::from_servers(&[], None, &["turn://u:secret@127.0.0.1:3478".into()]);
        turn.apply(&webrtcbin, true).unwrap();
        assert_eq!(
            webrtcbin.property::<WebRTCICETransportPolicy>("ice-transport-policy"),
            WebRTCICETransportPolicy::Relay
        );
        assert_eq!(
            redact_userinfo("turn://u:secret@h:1?transport=udp"),
            "turn://***@h:1?transport=udp"
        );
    }

    #[test]
    fn pins_loopback_on_a_real_webrtcbin() {
        gst::init().unwrap();
        let webrtcbin = gst::ElementFactory::make("webrtcbin").build().unwrap();
        pin_local_addresses(&webrtcbin, &["127.0.0.1".parse().unwrap()]).unwrap();
    }
}
