//! Neko v3 client: REST login, the `/api/ws` event stream with reconnects, and room state.

mod backoff;
mod connection;
mod finished;
mod rest;
mod session;
mod state;
mod target;
mod tls;

use std::sync::LazyLock;

/// The client's debug category (`GST_DEBUG=nekoclient:6`): logins, connections, reconnects and
/// what the server sends.
pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "nekoclient",
        gst::DebugColorFlags::empty(),
        Some("Neko protocol client"),
    )
});

pub(crate) use backoff::Backoff;
pub use rest::{Login, RestClient, RestError};
pub use session::{
    ClientConfig, ClientError, ClientNotice, DEFAULT_MAX_FAILED_OFFERS, NekoClient, wait_for_notice,
};
pub use state::RoomState;
pub use target::{Credentials, Target, TargetError, redact_token};
pub use tls::{TlsFailure, Trust, TrustError};
