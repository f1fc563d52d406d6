//! The neko-agent application: sandbox room, watcher and the pieces they share.
pub mod pipeline_file;
pub mod room;
pub mod connection;
pub mod logging;
pub mod watch;
