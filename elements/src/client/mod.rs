//! Neko v3 client: REST login, the `/api/ws` event stream with reconnects, and room state.

mod backoff;
mod connection;
mod rest;
mod session;
mod state;
mod target;

pub use backoff::Backoff;
pub use rest::{Login, RestClient, RestError};
pub use session::{ClientConfig, ClientError, ClientNotice, NekoClient, wait_for_notice};
pub use state::RoomState;
pub use target::{Credentials, Target, TargetError};
