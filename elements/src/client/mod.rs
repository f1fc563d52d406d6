//! Neko v3 client: REST login, the `/api/ws` event stream with reconnects, and room state.

mod backoff;
mod connection;
mod finished;
mod rest;
mod session;
mod state;
mod target;
mod tls;

pub use backoff::Backoff;
pub use rest::{Login, RestClient, RestError};
pub use session::{
    ClientConfig, ClientError, ClientNotice, DEFAULT_MAX_FAILED_OFFERS, NekoClient, wait_for_notice,
};
pub use state::RoomState;
pub use target::{Credentials, Target, TargetError, redact_token};
pub use tls::{TlsFailure, Trust, TrustError};
