//! Neko v3 protocol messages.
