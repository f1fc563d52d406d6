//! WebRTC plumbing shared by the elements: a webrtcbin answering Neko's offer.

mod ice;
mod peer;
mod sdp;

pub use ice::{IceError, IceUris, pin_local_addresses};
pub use peer::{PadCallback, Peer, PeerConfig, PeerError, PeerEvent};
pub use sdp::{MediaDirection, Offer, OfferedMedia, SdpError};
