//! `GET`/`POST /api/room/clipboard` and `GET /api/room/clipboard/image.png` (§5.6): the
//! desktop's clipboard, for a host with `can_access_clipboard`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{Caller, json_body};
use crate::desktop::{Clipboard, DesktopInput};
use crate::media::RoomMedia;
use crate::state::RoomShared;

/// Neko's `ClipboardPayload`: both fields optional, empty ones left out of answers.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct ClipboardPayload {
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    html: String,
}

/// Neko's permission chain for the clipboard group: clipboard access first, then host.
fn authorize(room: &RoomShared, caller: &Caller) -> Result<(), ApiError> {
    caller.require_clipboard_access()?;
    caller.require_host(room)
}

/// The media side, whose desktop owns the clipboard; a room without media has no clipboard to
/// read or write, which Neko answers like a failing `xclip`: `500`.
fn desktop_media(room: &RoomShared) -> Result<&Arc<RoomMedia>, ApiError> {
    room.media().ok_or_else(|| {
        tracing::debug!("clipboard route in a room without media");
        ApiError::internal()
    })
}

/// `GET /api/room/clipboard`.
pub(super) async fn get(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<Json<ClipboardPayload>, ApiError> {
    authorize(&room, &caller)?;
    let desktop = desktop_media(&room)?.desktop();
    let clipboard = desktop
        .lock()
        .map(|desktop| desktop.clipboard().clone())
        .map_err(|_| ApiError::internal())?;
    Ok(Json(ClipboardPayload {
        text: clipboard.text,
        html: clipboard.html,
    }))
}

/// `POST /api/room/clipboard`: replaces the clipboard (a following Ctrl+V types `text`).
pub(super) async fn set(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    authorize(&room, &caller)?;
    let payload: ClipboardPayload = json_body(&body)?;
    desktop_media(&room)?.apply_input(DesktopInput::SetClipboard(Clipboard {
        text: payload.text,
        html: payload.html,
    }));
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/room/clipboard/image.png`: the desktop's clipboard never holds an image, and Neko
/// answers a clipboard without one (`xclip` fails) with `500`.
pub(super) async fn image(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    authorize(&room, &caller)?;
    Err(ApiError::internal())
}
