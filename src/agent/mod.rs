//! The agent's pure logic: ShowUI prompts, model output parsing, mapping actions to input,
//! click refinement geometry and the action history.
#![warn(missing_docs)]

pub mod action;
pub mod chat;
pub mod execute;
pub mod history;
mod literal;
pub mod parse;
pub mod prompt;
pub mod refine;

pub use action::{ActionKind, Coord, Mode, ModelAction, Position, UnknownMode};
pub use chat::{Message, Part, Role};
pub use execute::{ExecuteError, Execution, SWIPE_SPAN, to_input};
pub use history::{History, action_json};
pub use parse::{ParseError, parse_action, parse_point};
pub use prompt::{NavPrompt, PromptStyle, grounding_messages};
pub use refine::{CropBox, DEFAULT_REFINEMENT_STEPS, FrameSize, Refinement, crop_for_pass};
