//! The sandbox room: a Neko-v3-compatible server on loopback.

pub mod desktop;
pub mod media;
pub mod peer;
