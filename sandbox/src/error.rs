//! Why a room could not start.

use std::net::SocketAddr;

use super::media::MediaError;

/// Failure to start a [`Room`](super::Room).
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The room's STUN server could not bind a UDP port.
    #[error("cannot start the room's STUN server: {0}")]
    Stun(#[source] std::io::Error),
    /// The bound socket has no local address.
    #[error("cannot read the listening address: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// The TLS certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] super::tls::TlsSetupError),
    /// The media side failed to start.
    #[error("room media: {0}")]
    Media(#[from] MediaError),
    /// The media start-up task panicked or was cancelled.
    #[error("room media start-up task failed: {0}")]
    MediaTask(#[from] tokio::task::JoinError),
}
