//! Errors raised while decoding protocol messages.

/// Why a WebSocket envelope, a payload or a data-channel datagram could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The text is not valid JSON.
    #[error("malformed JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The JSON value is not an object.
    #[error("envelope is not a JSON object")]
    NotAnObject,
    /// The envelope has no `event` string.
    #[error("envelope has no \"event\" string")]
    MissingEvent,
    /// A known event that needs a payload arrived without one.
    #[error("event {event} requires a payload")]
    MissingPayload {
        /// The event name.
        event: String,
    },
    /// A known event whose payload does not have the documented shape.
    #[error("payload of {event} does not match its shape: {source}")]
    Payload {
        /// The event name.
        event: String,
        /// serde's reason.
        #[source]
        source: serde_json::Error,
    },
    /// A datagram with no bytes at all.
    #[error("empty datagram")]
    EmptyDatagram,
    /// A datagram whose opcode is not part of the protocol.
    #[error("unknown datagram opcode {0:#04x}")]
    UnknownOpcode(u8),
    /// A datagram shorter than its opcode requires.
    #[error("datagram {op:#04x} needs {needed} bytes, got {got}")]
    TruncatedDatagram {
        /// The opcode.
        op: u8,
        /// Bytes the opcode needs (header included).
        needed: usize,
        /// Bytes received.
        got: usize,
    },
}
