//! Service mode: `neko-agent serve` (a REST API over a durable task queue, with workers in the
//! same process) and `neko-agent worker` (more workers, on Redis). Tasks run on the same agent,
//! capture and voice engines as the commands.
#![warn(missing_docs)]

pub mod api;
pub mod app;
pub mod args;
pub mod board;
pub mod capture;
pub mod events;
pub mod metrics;
pub mod rooms;
pub mod store;
pub mod task;
pub mod validate;
pub mod voice;
pub mod webhook;
pub mod worker;
