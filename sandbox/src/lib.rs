//! The sandbox room: a Neko-v3-compatible server on loopback, used as the embedded demo and as the
//! partner of integration tests. The control plane (REST, WebSocket, sessions, host control, chat,
//! screen) lives here; [`media`], [`peer`] and [`desktop`] render, encode and serve WebRTC.

mod auth;
mod chat;
pub mod cli;
mod config;
mod control;
mod datachannel;
pub mod desktop;
mod dispatch;
mod error;
mod handle;
pub mod heard;
mod input;
mod keyboard;
mod lifecycle;
pub mod limits;
pub mod media;
pub mod offer_style;
mod outbox;
mod patch;
pub mod peer;
mod recorder;
mod rest;
mod screen;
mod server;
mod sessions;
mod settings;
mod signal;
pub mod stamp;
mod state;
mod stun;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tls;
mod upstream;
mod ws;

#[cfg(test)]
mod tests;

pub use config::{CookieConfig, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_OUTBOX_BYTES, RoomConfig};
pub use error::RoomError;
pub use handle::Room;
pub use heard::{HeardAudio, HeardChat, MICROPHONE_RATE, Microphone};
pub use offer_style::OfferStyle;
pub use recorder::RecordedInput;
pub use tls::{TlsFiles, TlsSetupError};
