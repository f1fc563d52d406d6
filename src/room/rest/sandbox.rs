//! Sandbox-only debug routes under `/api/sandbox/` (not part of Neko): the recorded input log.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::room::state::RoomShared;

/// `GET /api/sandbox/inputs`: every recorded input, `at_ms` counted from the room's start.
pub(super) async fn inputs(State(room): State<Arc<RoomShared>>) -> Json<serde_json::Value> {
    Json(room.recorder.to_json(room.started))
}

/// `DELETE /api/sandbox/inputs`: forgets the recorded inputs.
pub(super) async fn clear(State(room): State<Arc<RoomShared>>) -> StatusCode {
    room.recorder.clear();
    StatusCode::NO_CONTENT
}
