//! Neko v3 protocol messages: WebSocket events in both directions, REST bodies and data-channel datagrams.
//!
//! Every payload struct keeps fields it does not know in `extra`, so a message re-serialises
//! with the same fields it arrived with.
#![warn(missing_docs)]

pub mod client;
pub mod datachannel;
mod envelope;
mod error;
pub mod input;
pub mod messaging;
pub mod rest;
pub mod server;
pub mod shapes;
pub mod signal;
pub mod system;
mod timestamp;

#[cfg(test)]
mod fixtures;

pub use client::ClientEvent;
pub use datachannel::{ClientDatagram, ServerDatagram, TouchPoint};
pub use error::ProtocolError;
pub use input::*;
pub use messaging::*;
pub use rest::*;
pub use server::ServerEvent;
pub use shapes::*;
pub use signal::*;
pub use system::*;
pub use timestamp::Timestamp;
