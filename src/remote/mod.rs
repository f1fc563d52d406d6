//! Remote vision-language models behind an OpenAI-compatible chat-completions endpoint
//! (OpenRouter, vLLM, Ollama, a llama.cpp server…): the agent's second backend beside the local
//! ShowUI engine.
//!
//! A call sends the same chat the local engine renders (the agent's prompt, with the frame as a
//! JPEG or PNG data URL scaled to a configured longest edge) and returns the text answer, which
//! the agent parses with the same parser as ShowUI's output. Transient failures (429, 5xx,
//! timeouts, refused connections) are retried a bounded number of times; everything read from
//! the server is bounded.
#![warn(missing_docs)]

mod client;
mod encode;
mod request;
mod response;
mod settings;

pub use client::{
    MAX_RESPONSE_BYTES, PreparedRequest, RemoteError, RemoteReply, RemoteTimings, RemoteVlm,
};
pub use encode::{EncodeError, EncodedImage, encode_image};
pub use request::request_body;
pub use response::{Answer, MAX_REASONING_CHARS, ResponseError, parse_response};
pub use settings::{
    AgentType, ImageFormat, OPENROUTER_HOST, RemoteArgs, RemoteSettings, ServerUrlError,
    chat_completions_url,
};
