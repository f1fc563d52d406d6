//! A Neko session an application drives: opening it (with or without WebRTC media), keeping
//! host control, performing input actions, and describing room events for people.
//!
//! Shared by `manual` (a person at a REPL) and `agent` (a model choosing actions).

mod control;
mod events;
mod link;

/// Locks a mutex, taking the data even if a panicking thread poisoned it (the session's
/// shared state stays usable).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub use control::{ControlError, ControlOptions, Controller, Printer};
pub use events::Roster;
pub use link::{
    ErrorSink, ErrorTaker, Failures, Link, LinkError, LoginError, PrepareError, check_login,
};
