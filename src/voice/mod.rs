//! Speech for the `yap` app: text segmentation, the voice registry and its chat commands, audio
//! splicing, and the text-to-speech engines (eSpeak NG through GStreamer, F5-TTS on ONNX
//! Runtime).

pub mod segment;
