//! `GET/POST /api/room/settings` (admin).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use gstneko::protocol::Settings;

use super::error::ApiError;
use super::extract::Caller;
use crate::state::RoomShared;

/// `GET /api/room/settings`.
pub(super) async fn get(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<Json<Settings>, ApiError> {
    caller.require_admin()?;
    Ok(Json(room.read(|state| state.settings.clone())))
}

/// `POST /api/room/settings`: the JSON body is merged onto the current settings.
pub(super) async fn set(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let patch: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("unable to parse provided data"))?;
    room.update_settings(&caller.id, &patch).map_err(|error| {
        tracing::debug!(%error, "settings refused");
        ApiError::bad_request("unable to parse provided data")
    })?;
    Ok(StatusCode::NO_CONTENT)
}
