//! Training-data capture end to end: episodes written and read back (also by an independent
//! Python reader), `neko-agent capture` and `run --capture` against the sandbox room over real
//! WebRTC, S3 uploads against a local S3 server, and what survives signals and a full disk.

#[path = "../common/mod.rs"]
mod common;
mod durability;
mod roundtrip;
mod s3;
mod sessions;
mod support;
