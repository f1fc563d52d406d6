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

pub use ice::{
    IceError, IceUris, encode_userinfo, pin_local_addresses, redact_userinfo,
    selected_candidate_types,
};
pub use peer::{PadCallback, Peer, PeerConfig, PeerError, PeerEvent};
pub use sdp::{MediaDirection, Offer, OfferedMedia, SdpError};
