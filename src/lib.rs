//! The neko-agent application: sandbox room, watcher and the pieces they share.
pub mod agent;
pub mod capture;
pub mod cli;
pub mod connection;
pub mod input;
pub mod logging;
pub mod manual;
pub mod mds;
pub mod model;
pub mod pipeline_file;
pub mod pyjson;
pub mod room;
pub mod session;
pub mod watch;
