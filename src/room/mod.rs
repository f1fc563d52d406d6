//! The sandbox room: a Neko-v3-compatible server on loopback, used as the embedded demo and as the
//! partner of integration tests. The control plane (REST, WebSocket, sessions, host control, chat,
//! screen) lives here; [`media`], [`peer`] and [`desktop`] render, encode and serve WebRTC.

mod auth;
mod chat;
mod config;
mod control;
pub mod desktop;
mod dispatch;
mod error;
mod handle;
pub mod heard;
mod input;
mod lifecycle;
pub mod media;
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
mod state;
mod ws;

#[cfg(test)]
mod tests;

pub use config::{CookieConfig, RoomConfig};
pub use error::RoomError;
pub use handle::Room;
pub use heard::{HeardAudio, HeardChat, MICROPHONE_RATE, Microphone};
pub use recorder::RecordedInput;
