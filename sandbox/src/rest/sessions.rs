//! Admin sessions API: `/api/sessions[/{id}[/disconnect]]`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gstneko::protocol::SessionData;

use super::error::ApiError;
use super::extract::Caller;
use crate::state::RoomShared;

/// `GET /api/sessions`.
pub(super) async fn list(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<Json<Vec<SessionData>>, ApiError> {
    caller.require_admin()?;
    Ok(Json(room.read(|state| {
        state.sessions.iter().map(|s| s.data()).collect()
    })))
}

/// `GET /api/sessions/{id}`.
pub(super) async fn read(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionData>, ApiError> {
    caller.require_admin()?;
    room.read(|state| state.sessions.get(&id).map(|s| s.data()))
        .map(Json)
        .ok_or_else(|| ApiError::not_found("session not found"))
}

/// `DELETE /api/sessions/{id}`.
pub(super) async fn delete(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    if id == caller.id {
        return Err(ApiError::bad_request("cannot delete own session"));
    }
    room.delete_session(&id, "session deleted")
        .map_err(|_| ApiError::bad_request("session not found"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/sessions/{id}/disconnect` (kick).
pub(super) async fn disconnect(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    room.kick(&id)
        .map_err(|_| ApiError::bad_request("session not found"))?;
    Ok(StatusCode::NO_CONTENT)
}
