//! Control-plane tests over loopback REST and WebSocket clients; all but `media` run the room without GStreamer.

mod admin;
mod control;
mod cursor;
mod guard;
mod limits;
mod login;
mod media;
mod room_api;
mod support;
mod websocket;
