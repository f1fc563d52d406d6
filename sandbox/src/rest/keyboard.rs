//! `GET`/`POST /api/room/keyboard/map` and `/api/room/keyboard/modifiers` (§5.4): reading needs
//! `can_host`, changing also needs to be the host.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use gstneko::protocol::{KeyboardMap, KeyboardModifiers};

use super::error::ApiError;
use super::extract::{Caller, json_body};
use crate::state::RoomShared;

/// `GET /api/room/keyboard/map`: `{"layout", "variant"}`.
pub(super) async fn get_map(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<Json<KeyboardMap>, ApiError> {
    caller.require_host_rights(&room)?;
    Ok(Json(room.read(|state| state.keyboard.map().clone())))
}

/// `POST /api/room/keyboard/map` (host).
pub(super) async fn set_map(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    caller.require_host_rights(&room)?;
    caller.require_host(&room)?;
    let map: KeyboardMap = json_body(&body)?;
    room.update(|state, _| state.keyboard.set_map(&map));
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/room/keyboard/modifiers`: all eight modifiers as booleans.
pub(super) async fn get_modifiers(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<Json<KeyboardModifiers>, ApiError> {
    caller.require_host_rights(&room)?;
    Ok(Json(room.read(|state| state.keyboard.modifiers().clone())))
}

/// `POST /api/room/keyboard/modifiers` (host): sets the fields given, leaves the others.
pub(super) async fn set_modifiers(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    caller.require_host_rights(&room)?;
    caller.require_host(&room)?;
    let modifiers: KeyboardModifiers = json_body(&body)?;
    room.update(|state, _| state.keyboard.set_modifiers(&modifiers));
    Ok(StatusCode::NO_CONTENT)
}
