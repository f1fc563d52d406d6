//! Shared helpers for the app's integration tests; the room guard, the media lock and the
//! GStreamer set-up come from `neko_sandbox::testing`.
#![allow(dead_code)]

pub mod agent_run;
pub mod nginx;
pub mod redis;
pub mod service;
pub mod voice;
pub mod whep;

#[allow(unused_imports, reason = "not every test binary uses both")]
pub use neko_sandbox::testing::{MEDIA, init};
