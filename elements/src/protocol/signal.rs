//! WebRTC signalling payloads (`signal/*`).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// How a video stream is picked by [`StreamSelector`] (case-insensitive on input, `""` means exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamSelectorType {
    /// Exactly the given id.
    #[default]
    Exact,
    /// Nearest to the given bitrate.
    Nearest,
    /// The next (lower quality) entry after the id.
    Lower,
    /// The previous (higher quality) entry before the id.
    Higher,
}

impl<'de> Deserialize<'de> for StreamSelectorType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.to_ascii_lowercase().as_str() {
            "" | "exact" => Ok(Self::Exact),
            "nearest" => Ok(Self::Nearest),
            "lower" => Ok(Self::Lower),
            "higher" => Ok(Self::Higher),
            other => Err(serde::de::Error::unknown_variant(
                other,
                &["exact", "nearest", "lower", "higher"],
            )),
        }
    }
}

/// Chooses a video stream (`types.StreamSelector`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamSelector {
    /// Selection mode.
    #[serde(rename = "type")]
    pub kind: StreamSelectorType,
    /// Stream id from `system/init.webrtc.videos`.
    pub id: String,
    /// Target bitrate for bitrate-based selection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<u64>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Requested video state (`types.PeerVideoRequest`), in `signal/request` and C→S `signal/video`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PeerVideoRequest {
    /// Pause the video track.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Which stream to receive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<StreamSelector>,
    /// Let the server's estimator switch streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto: Option<bool>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Requested audio state (`types.PeerAudioRequest`), in `signal/request` and C→S `signal/audio`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PeerAudioRequest {
    /// Pause the audio track.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Resolved video state (`types.PeerVideo`), in `signal/provide` and S→C `signal/video`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PeerVideo {
    /// The video track is paused.
    pub disabled: bool,
    /// Selected stream id.
    pub id: String,
    /// Same as `id` (compatibility).
    pub video: String,
    /// Automatic stream switching is on.
    pub auto: bool,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Resolved audio state (`types.PeerAudio`), in `signal/provide` and S→C `signal/audio`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PeerAudio {
    /// The audio track is paused.
    pub disabled: bool,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `signal/request`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SignalRequest {
    /// Requested video state.
    pub video: PeerVideoRequest,
    /// Requested audio state.
    pub audio: PeerAudioRequest,
    /// Legacy default for `video.auto`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto: Option<bool>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An ICE server offered to the client.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IceServer {
    /// STUN/TURN URLs.
    pub urls: Vec<String>,
    /// TURN username, omitted when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN credential, omitted when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `signal/provide`: the server's SDP offer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SignalProvide {
    /// SDP offer.
    pub sdp: String,
    /// ICE servers for the client.
    pub iceservers: Vec<IceServer>,
    /// Resolved video state.
    pub video: PeerVideo,
    /// Resolved audio state.
    pub audio: PeerAudio,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload `{"sdp"}` of `signal/answer`, `signal/offer` and S→C `signal/restart`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SignalDescription {
    /// The session description.
    pub sdp: String,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SignalDescription {
    /// A description carrying `sdp`.
    pub fn new(sdp: impl Into<String>) -> Self {
        Self {
            sdp: sdp.into(),
            extra: Map::new(),
        }
    }
}

/// Payload of `signal/candidate` (`RTCIceCandidateInit`), with explicit `null`s.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IceCandidate {
    /// The `candidate:` attribute line.
    #[serde(default)]
    pub candidate: String,
    /// Media stream id, `null` when unknown.
    #[serde(rename = "sdpMid")]
    pub sdp_mid: Option<String>,
    /// Media line index, `null` when unknown.
    #[serde(rename = "sdpMLineIndex")]
    pub sdp_mline_index: Option<u32>,
    /// ICE username fragment, `null` when unknown.
    #[serde(rename = "usernameFragment")]
    pub username_fragment: Option<String>,
    /// Fields this crate does not know, kept for re-serialisation.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
