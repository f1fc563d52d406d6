//! `neko-agent yap`: speech in a Neko room. Chat commands are turned into text chunks, chunks
//! into audio by a text-to-speech engine, and the audio into the room's microphone through the
//! voice pipeline (`pipelines/voice.toml`, ending in `nekosink`).

pub mod app;
pub mod chat;
mod metrics;
pub mod settings;

pub use settings::YapArgs;
