//! Relay and plugin payloads: `send/*`, `chat/*`, `filetransfer/update`, `openinapp/init`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Timestamp;

/// Payload of C→S `send/unicast`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SendUnicastRequest {
    /// Receiving session id.
    pub receiver: String,
    /// Free-form subject.
    pub subject: String,
    /// Opaque body.
    pub body: Value,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of S→C `send/unicast`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SendUnicast {
    /// Sending session id.
    pub sender: String,
    /// Receiving session id.
    pub receiver: String,
    /// Free-form subject.
    pub subject: String,
    /// Opaque body.
    pub body: Value,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of C→S `send/broadcast`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SendBroadcastRequest {
    /// Free-form subject.
    pub subject: String,
    /// Opaque body.
    pub body: Value,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of S→C `send/broadcast`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SendBroadcast {
    /// Sending session id.
    pub sender: String,
    /// Free-form subject.
    pub subject: String,
    /// Opaque body.
    pub body: Value,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `chat/init`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatInit {
    /// The chat plugin is enabled.
    pub enabled: bool,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Chat content `{"text"}`: payload of C→S `chat/message`, body of `POST /api/chat`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatContent {
    /// Message text.
    pub text: String,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatContent {
    /// Content carrying `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            extra: Map::new(),
        }
    }
}

/// Payload of S→C `chat/message`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatMessage {
    /// Sending session id.
    pub id: String,
    /// Server time of reception.
    pub created: Timestamp,
    /// The message.
    pub content: ChatContent,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One file listed by `filetransfer/update`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FileEntry {
    /// File name.
    pub name: String,
    /// `file` or `dir`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Size in bytes, omitted for directories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of S→C `filetransfer/update`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FiletransferUpdate {
    /// The plugin is enabled.
    pub enabled: bool,
    /// Shared directory.
    pub root_dir: String,
    /// Users may download.
    pub user_download: bool,
    /// Users may upload.
    pub user_upload: bool,
    /// Users may delete.
    pub user_delete: bool,
    /// Directory listing.
    pub files: Vec<FileEntry>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of S→C `openinapp/init`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OpeninappInit {
    /// The plugin is enabled.
    pub enabled: bool,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
