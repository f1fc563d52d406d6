//! WebRTC plumbing shared by the elements: a webrtcbin answering Neko's offer.

mod extensions;
mod ice;
#[cfg(test)]
mod negotiation_tests;
mod peer;
mod sdp;
#[cfg(test)]
mod sdp_matrix_tests;
#[cfg(test)]
mod twcc_tests;

use std::sync::LazyLock;

/// The WebRTC plumbing's debug category (`GST_DEBUG=nekowebrtc:6`).
pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "nekowebrtc",
        gst::DebugColorFlags::empty(),
        Some("Neko WebRTC peer"),
    )
});

pub use ice::{IceError, encode_userinfo, pin_local_addresses};
pub(crate) use ice::{redact_userinfo, selected_candidate_types};
pub use peer::{PadCallback, Peer, PeerConfig, PeerError, PeerEvent};
pub use sdp::SdpError;
