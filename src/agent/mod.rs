//! The agent (`neko-agent run`): ShowUI prompts, model output parsing, mapping actions to
//! input, click refinement, the action history — and the loop that runs them on frames from
//! the room, offline (one task) or online (tasks from chat).
//!
//! The chat messages the prompts build are the model engine's own types
//! ([`crate::model::Message`]), so they pass to it unchanged.
#![warn(missing_docs)]

pub mod action;
pub mod annotate;
pub mod app;
mod args;
pub mod backend;
pub mod execute;
pub mod frames;
pub mod history;
pub mod metrics;
pub mod online;
pub mod parse;
pub mod prompt;
pub mod refine;
pub mod runner;
pub mod settle;
pub mod sight;
pub mod steer;

pub use action::{ActionKind, Coord, Mode, ModelAction, Position, UnknownMode};
pub use args::RunArgs;
pub use execute::{ExecuteError, Execution, SWIPE_SPAN, to_input};
pub use history::{History, action_json};
pub use parse::{ParseError, parse_action, parse_point};
pub use prompt::{NavPrompt, PromptStyle, grounding_messages};
pub use refine::{CropBox, DEFAULT_REFINEMENT_STEPS, FrameSize, Refinement, crop_for_pass};
pub use steer::{AgentEvent, Observer, PauseReason, Steering, TaskControl};
