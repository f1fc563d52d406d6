//! ShowUI-2B (a Qwen2-VL-2B fine-tune) on ONNX Runtime: the engine that turns a frame and a chat
//! into the model's reply.
//!
//! The model directory follows the onnx-community / transformers.js layout (three graphs:
//! `vision_encoder`, `embed_tokens`, `decoder_model_merged`; see `models/README.md`). A call to
//! [`ShowUi::generate`] preprocesses the frame like transformers' Qwen2VLImageProcessor, renders
//! the chat with the Qwen2-VL template, runs the vision encoder, merges its features into the
//! `<|image_pad|>` rows, computes M-RoPE positions, prefills the decoder and decodes greedily
//! with the KV cache. ONNX Runtime itself (loading, providers, sessions) is [`crate::onnx`].

mod config;
mod generate;
mod graphs;
mod image;
mod layout;
mod options;
mod parallel;
mod profiles;
mod prompt;
mod resize;
mod rope;
mod scheduler;
mod showui;
mod tokens;

pub use config::{ConfigError, PreprocessorConfig};
pub use generate::{BatchRow, Batching};
pub use graphs::GraphError;
pub use image::{
    ImageError, ImageProcessor, ImageSize, PixelValues, SHOWUI_MAX_PIXELS, SHOWUI_MIN_PIXELS,
    check_packed, smart_resize,
};
pub use layout::{Dtype, LayoutError};
pub use options::{DEFAULT_MODEL_DIR, ModelOptions, OptionsError};
pub use profiles::{BadLimits, BeyondProfile, SequenceLimits};
pub use prompt::{Message, Part, PromptError, Role, render_chat};
pub use resize::resize_rgb8_bicubic;
pub use scheduler::{BatchMetrics, BatchOptions, Batcher, ModelClient, SchedulerGone};
pub use showui::{Generation, ImageFeatures, ModelError, ShowUi, StopReason, Timings};
pub use tokens::TokenizerError;
