//! A Neko session an application drives: opening it (with or without WebRTC media), keeping
//! host control, performing input actions, and describing room events for people.
//!
//! Shared by `manual` (a person at a REPL) and `agent` (a model choosing actions).

mod control;
mod events;
mod link;

pub use control::{ControlError, ControlOptions, Controller, Printer};
pub use events::Roster;
pub use link::{ErrorSink, Failures, Link, LinkError};
