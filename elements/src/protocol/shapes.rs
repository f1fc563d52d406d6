//! Object shapes shared by many events: profiles, session state, settings, screen size, host.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Timestamp;

/// Free-form plugin settings (`plugins`), usually `null`.
pub type PluginSettings = Option<Map<String, Value>>;

/// What a member may do (`types.MemberProfile`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberProfile {
    /// Display name.
    pub name: String,
    /// Administrator rights.
    pub is_admin: bool,
    /// May log in.
    pub can_login: bool,
    /// May open a WebSocket.
    pub can_connect: bool,
    /// May receive the video.
    pub can_watch: bool,
    /// May take control.
    pub can_host: bool,
    /// May send microphone/webcam tracks.
    pub can_share_media: bool,
    /// May read and write the clipboard.
    pub can_access_clipboard: bool,
    /// Its pointer moves are shown to others while not host.
    pub sends_inactive_cursor: bool,
    /// Receives `session/cursors`.
    pub can_see_inactive_cursors: bool,
    /// Per-member plugin settings.
    pub plugins: PluginSettings,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MemberProfile {
    /// The multiuser provider's default user template (§7.1), with an empty name.
    pub fn user() -> Self {
        Self {
            can_login: true,
            can_connect: true,
            can_watch: true,
            can_host: true,
            can_share_media: true,
            can_access_clipboard: true,
            sends_inactive_cursor: true,
            ..Self::default()
        }
    }

    /// The multiuser provider's default admin template (§7.1), with an empty name.
    pub fn admin() -> Self {
        Self {
            is_admin: true,
            can_see_inactive_cursors: true,
            ..Self::user()
        }
    }

    /// The same profile with `name` set.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

/// Connection and watching state of a session (`types.SessionState`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionState {
    /// The WebSocket is connected (or within the delayed-disconnect window).
    pub is_connected: bool,
    /// When it connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_since: Option<Timestamp>,
    /// When it disconnected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_connected_since: Option<Timestamp>,
    /// The WebRTC peer is connected.
    pub is_watching: bool,
    /// When the peer connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watching_since: Option<Timestamp>,
    /// When the peer closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_watching_since: Option<Timestamp>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A session as listed in `system/init`, `session/created` and the sessions API.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionData {
    /// Session id.
    pub id: String,
    /// Its member profile.
    pub profile: MemberProfile,
    /// Its state.
    pub state: SessionState,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Room settings (`types.Settings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Non-admins receive no media and may not host.
    pub private_mode: bool,
    /// Only admins may log in.
    pub locked_logins: bool,
    /// Only admins may host.
    pub locked_controls: bool,
    /// Lock controls while no admin is connected.
    pub control_protection: bool,
    /// Any input event steals control.
    pub implicit_hosting: bool,
    /// Share non-host pointers as `session/cursors`.
    pub inactive_cursors: bool,
    /// A reconnecting socket replaces the old one.
    pub merciful_reconnect: bool,
    /// Advertised `client/heartbeat` interval in seconds.
    pub heartbeat_interval: i64,
    /// Room-wide plugin settings.
    pub plugins: PluginSettings,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Settings {
    /// The server defaults of §7.2.
    fn default() -> Self {
        Self {
            private_mode: false,
            locked_logins: false,
            locked_controls: false,
            control_protection: false,
            implicit_hosting: false,
            inactive_cursors: false,
            merciful_reconnect: true,
            heartbeat_interval: 10,
            plugins: None,
            extra: Map::new(),
        }
    }
}

/// The longest `client/heartbeat` period a client keeps to, whatever the server advertises: a
/// heartbeat exists to keep proxies from cutting an idle socket, and Neko's own default once was
/// 120 s.
pub const MAX_HEARTBEAT_PERIOD: Duration = Duration::from_secs(120);

impl Settings {
    /// The `client/heartbeat` period to keep: `heartbeat_interval` clamped to 1 s …
    /// [`MAX_HEARTBEAT_PERIOD`]; `None` when the server asks for none (zero or negative).
    pub fn heartbeat_period(&self) -> Option<Duration> {
        let seconds = u64::try_from(self.heartbeat_interval).ok()?;
        (seconds > 0).then(|| Duration::from_secs(seconds).min(MAX_HEARTBEAT_PERIOD))
    }
}

/// Screen size and refresh rate (`types.ScreenSize`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ScreenSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Refresh rate in Hz.
    pub rate: i16,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ScreenSize {
    /// A screen size without extra fields.
    pub fn new(width: u32, height: u32, rate: i16) -> Self {
        Self {
            width,
            height,
            rate,
            extra: Map::new(),
        }
    }
}

/// Who holds control (`control_host` in `system/init`, payload of `control/host`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ControlHost {
    /// Session that caused the change; always `""` in `system/init`.
    pub id: String,
    /// Somebody is host.
    pub has_host: bool,
    /// The host, omitted when nobody is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<String>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A payload made of one session id: `session/deleted`, S→C `control/request`, `file_chooser_dialog/*`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionRef {
    /// The session id (empty in `file_chooser_dialog/closed`).
    pub id: String,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SessionRef {
    /// A reference to `id`.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            extra: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_templates() {
        let user = MemberProfile::user().with_name("alice");
        assert_eq!(
            serde_json::to_value(&user).expect("serialise"),
            json!({
                "name": "alice", "is_admin": false, "can_login": true, "can_connect": true,
                "can_watch": true, "can_host": true, "can_share_media": true,
                "can_access_clipboard": true, "sends_inactive_cursor": true,
                "can_see_inactive_cursors": false, "plugins": null
            })
        );
        let admin = MemberProfile::admin();
        assert!(admin.is_admin && admin.can_see_inactive_cursors && admin.can_host);
    }

    #[test]
    fn settings_defaults() {
        let settings = Settings::default();
        assert!(settings.merciful_reconnect);
        assert_eq!(settings.heartbeat_interval, 10);
        assert!(!settings.implicit_hosting && !settings.locked_controls);
    }

    #[test]
    fn heartbeat_period_is_clamped() {
        let period = |heartbeat_interval| {
            Settings {
                heartbeat_interval,
                ..Settings::default()
            }
            .heartbeat_period()
        };
        assert_eq!(period(10), Some(Duration::from_secs(10)));
        assert_eq!(period(i64::MAX), Some(MAX_HEARTBEAT_PERIOD));
        assert_eq!(period(0), None);
        assert_eq!(period(i64::MIN), None);
    }

    #[test]
    fn fresh_state_is_two_fields() {
        assert_eq!(
            serde_json::to_value(SessionState::default()).expect("serialise"),
            json!({"is_connected": false, "is_watching": false})
        );
    }

    #[test]
    fn unknown_fields_survive() {
        let raw = json!({"width": 800, "height": 600, "rate": 60, "future": [1, 2]});
        let size: ScreenSize = serde_json::from_value(raw.clone()).expect("parse");
        assert_eq!(size.extra.get("future"), Some(&json!([1, 2])));
        assert_eq!(serde_json::to_value(&size).expect("serialise"), raw);
    }
}
