//! Speech in a Neko room, for `neko-agent yap` and `neko-agent run --voice`: text segmentation,
//! the voice registry and its chat commands, the text-to-speech engines (eSpeak NG through
//! GStreamer, F5-TTS on ONNX Runtime), the speaker that shapes and splices their audio, the
//! player that feeds the room, and [`live::Voice`], which puts them together.
//!
//! The flow for one utterance: [`segment::segment_text`] (or [`segment::StreamAssembler`] in
//! stream mode) cuts the text; [`selection::VoiceSelection::request`] picks the voice from the
//! [`voices::VoiceRegistry`]; workers call a [`tts::Synthesizer`] per segment with a shared
//! [`cancel::CancelFlag`]; [`reorder::InOrder`] puts their results back in order; after resampling
//! to the room's rate, [`splice::Splicer`] crossfades them and [`pcm::to_i16`] makes the samples
//! that are sent.
//!
//! [`speaker::Speaker`] runs that flow on worker threads, applies the voice's rate and pitch with
//! [`shaping::Shaper`] and queues the result on the [`player::Player`].

pub mod cancel;
pub mod commands;
pub mod flags;
pub mod gst_audio;
pub mod live;
pub mod pcm;
pub mod player;
pub mod reorder;
pub mod segment;
pub mod selection;
pub mod settings;
pub mod shaping;
pub mod speaker;
pub mod splice;
pub mod tts;
pub mod voices;
