//! Control-plane tests against a room without media: REST and WebSocket clients talk to it over loopback.

mod admin;
mod control;
mod login;
mod support;
mod websocket;
