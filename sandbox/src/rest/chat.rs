//! `POST /api/chat` (admin): a chat message sent as the caller.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use gstneko::protocol::ChatContent;

use super::error::ApiError;
use super::extract::{Caller, json_body};
use crate::chat::ChatError;
use crate::state::RoomShared;

/// `POST /api/chat`.
pub(super) async fn send(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let content: ChatContent = json_body(&body)?;
    room.chat_send(&caller.id, content)
        .map_err(|error| match error {
            ChatError::NotAllowed => ApiError::forbidden("not allowed to send chat messages"),
            ChatError::UnknownSession => ApiError::unauthorized(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
