//! `neko-agent yap`: speech in a Neko room. Chat commands are turned into text chunks, chunks
//! into audio by a text-to-speech engine, and the audio into the room's microphone through the
//! voice pipeline (`pipelines/voice.toml`, ending in `nekosink`).

pub mod app;
pub mod chat;
mod metrics;
pub mod player;
pub mod settings;
pub mod shaping;
pub mod speaker;
pub mod voice;

pub use player::{PlayError, Player, PlayerFormat};
pub use settings::{Engine, VoiceArgs, YapArgs};
