//! Sandbox-only debug routes under `/api/sandbox/` (not part of Neko): the recorded input log
//! and what the microphone heard. Admins only: they expose and erase what every session did.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::error::ApiError;
use super::extract::Caller;
use crate::state::RoomShared;

/// `GET /api/sandbox/inputs`: every recorded input, `at_ms` counted from the room's start.
pub(super) async fn inputs(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    Ok(Json(room.recorder.to_json(room.started)))
}

/// `DELETE /api/sandbox/inputs`: forgets the recorded inputs.
pub(super) async fn clear(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    room.recorder.clear();
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/sandbox/microphone.wav`: everything clients sent up, as one 48 kHz mono WAV.
pub(super) async fn microphone(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin()?;
    Ok((
        [(header::CONTENT_TYPE, "audio/wav")],
        room.heard.microphone.to_wav(),
    ))
}

/// `DELETE /api/sandbox/microphone.wav`: forgets what the microphone heard.
pub(super) async fn clear_microphone(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    room.heard.microphone.clear();
    Ok(StatusCode::NO_CONTENT)
}
