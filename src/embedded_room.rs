//! The embedded sandbox room: what `run` and `watch` start on loopback when no server is
//! configured, so that a first run shows something without any set-up.

use std::net::Ipv4Addr;

use neko_sandbox::cli::RoomSettings;
use neko_sandbox::{Room, RoomConfig, RoomError};

use crate::connection::ConnectionArgs;

/// Starts the sandbox room described by `settings` on loopback, and returns it with the
/// connection settings that log `username` in as a user.
pub async fn start(
    settings: &RoomSettings,
    username: &str,
) -> Result<(Room, ConnectionArgs), RoomError> {
    let config = RoomConfig {
        ice_addresses: vec![Ipv4Addr::LOCALHOST.into()],
        ..settings.room_config()
    };
    let room = Room::start(config).await?;
    let connection = ConnectionArgs {
        neko_url: Some(room.base_url()),
        username: Some(username.to_owned()),
        password: Some(settings.user_password.clone()),
        ice_addresses: Ipv4Addr::LOCALHOST.to_string(),
        ..ConnectionArgs::default()
    };
    Ok((room, connection))
}
