//! Server-sent system, session and screen payloads (`system/*`, `session/*`, `screen/updated`, `broadcast/status`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ControlHost, MemberProfile, ScreenSize, SessionData, SessionState, Settings};

/// `webrtc` part of `system/init`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemWebRtc {
    /// Video stream ids, default first.
    pub videos: Vec<String>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `system/init`, the first frame on every connect.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemInit {
    /// This connection's session id.
    pub session_id: String,
    /// Current host (`id` is always `""`).
    pub control_host: ControlHost,
    /// Current screen size.
    pub screen_size: ScreenSize,
    /// Every session, disconnected ones included.
    pub sessions: BTreeMap<String, SessionData>,
    /// Room settings.
    pub settings: Settings,
    /// The touch input driver is enabled.
    pub touch_events: bool,
    /// `GET /api/room/screen/cast.jpg` is available.
    pub screencast_enabled: bool,
    /// WebRTC facts.
    pub webrtc: SystemWebRtc,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `broadcast/status` and `system/admin.broadcast_status`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BroadcastStatus {
    /// An RTMP broadcast is running.
    pub is_active: bool,
    /// Broadcast target, omitted when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `system/admin`, sent to admins on connect.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemAdmin {
    /// Screen sizes the desktop supports.
    pub screen_sizes_list: Vec<ScreenSize>,
    /// Broadcast state.
    pub broadcast_status: BroadcastStatus,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `system/settings`: the session that changed them plus the flattened settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SettingsUpdate {
    /// Session that caused the change.
    #[serde(default)]
    pub id: String,
    /// New settings (unknown fields are kept in `settings.extra`).
    #[serde(flatten)]
    pub settings: Settings,
}

/// Payload of `system/disconnect`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemDisconnect {
    /// Reason, one of §2.5.
    pub message: String,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SystemDisconnect {
    /// A disconnect with the given reason.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            extra: Map::new(),
        }
    }
}

/// One entry of the C→S `system/logs` array.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LogEntry {
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// Structured fields.
    pub fields: Option<Map<String, Value>>,
    /// Log message.
    pub message: String,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `session/profile`: session id plus the flattened profile.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionProfileUpdate {
    /// Session id.
    #[serde(default)]
    pub id: String,
    /// New profile (unknown fields are kept in `profile.extra`).
    #[serde(flatten)]
    pub profile: MemberProfile,
}

/// Payload of `session/state`: session id plus the flattened state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionStateUpdate {
    /// Session id.
    #[serde(default)]
    pub id: String,
    /// New state (unknown fields are kept in `state.extra`).
    #[serde(flatten)]
    pub state: SessionState,
}

/// One inactive pointer position in `session/cursors`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InactiveCursor {
    /// Horizontal position.
    pub x: i32,
    /// Vertical position.
    pub y: i32,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of the `session/cursors` array.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionCursors {
    /// Session id.
    pub id: String,
    /// Its recent pointer positions.
    pub cursors: Vec<InactiveCursor>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `screen/updated`: requester id plus the flattened applied size.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScreenSizeUpdate {
    /// Session that requested the change.
    #[serde(default)]
    pub id: String,
    /// Applied size (unknown fields are kept in `size.extra`).
    #[serde(flatten)]
    pub size: ScreenSize,
}
