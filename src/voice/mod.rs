//! Speech for the `yap` app: text segmentation, the voice registry and its chat commands, audio
//! splicing, and the text-to-speech engines (eSpeak NG through GStreamer, F5-TTS on ONNX
//! Runtime).
//!
//! The flow for one utterance: [`segment::segment_text`] (or [`segment::StreamAssembler`] in
//! stream mode) cuts the text; [`selection::VoiceSelection::request`] picks the voice from the
//! [`voices::VoiceRegistry`]; workers call a [`tts::Synthesizer`] per segment with a shared
//! [`cancel::CancelFlag`]; [`reorder::InOrder`] puts their results back in order; after resampling
//! to the room's rate, [`splice::Splicer`] crossfades them and [`pcm::to_i16`] makes the samples
//! that are sent.

pub mod cancel;
pub mod commands;
pub mod flags;
pub mod gst_audio;
pub mod pcm;
pub mod reorder;
pub mod segment;
pub mod selection;
pub mod splice;
pub mod tts;
pub mod voices;
