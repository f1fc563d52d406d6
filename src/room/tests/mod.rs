//! Control-plane tests over loopback REST and WebSocket clients; all but `media` run the room without GStreamer.

mod admin;
mod control;
mod login;
mod media;
mod support;
mod websocket;
