//! `/api/room/screen[/configurations|/shot.jpg|/cast.jpg]` (§6).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use gstneko::protocol::ScreenSize;

use super::error::ApiError;
use super::extract::{Caller, json_body};
use crate::screen;
use crate::state::RoomShared;

/// JPEG quality when `?quality=` is absent or not a number.
const DEFAULT_QUALITY: i64 = 90;

/// `GET /api/room/screen`.
pub(super) async fn get(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<Json<ScreenSize>, ApiError> {
    caller.require_watch()?;
    Ok(Json(room.read(|state| state.screen.clone())))
}

/// `POST /api/room/screen` (admin): answers with the request, broadcasts the applied size.
pub(super) async fn set(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<ScreenSize>, ApiError> {
    caller.require_watch()?;
    caller.require_admin()?;
    let requested: ScreenSize = json_body(&body)?;
    room.set_screen(&caller.id, &requested).map_err(|error| {
        tracing::warn!(%error, "screen change failed");
        ApiError::unprocessable("cannot set screen size")
    })?;
    Ok(Json(requested))
}

/// `GET /api/room/screen/configurations` (admin).
pub(super) async fn configurations(caller: Caller) -> Result<Json<Vec<ScreenSize>>, ApiError> {
    caller.require_watch()?;
    caller.require_admin()?;
    Ok(Json(screen::configurations()))
}

/// `quality` from the query, clamped to 1–100 like Go's JPEG encoder; 90 when absent or invalid.
fn quality(query: Option<&str>) -> u8 {
    let requested = query
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(key, _)| key == "quality"))
        .and_then(|(_, value)| value.parse::<i64>().ok())
        .unwrap_or(DEFAULT_QUALITY);
    u8::try_from(requested.clamp(1, 100)).unwrap_or(90)
}

/// `GET /api/room/screen/shot.jpg` (admin): a JPEG of the current desktop.
pub(super) async fn shot(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    caller.require_watch()?;
    caller.require_admin()?;
    let media = room.media().cloned().ok_or_else(ApiError::internal)?;
    let quality = quality(query.as_deref());
    let jpeg = tokio::task::spawn_blocking(move || media.snapshot_jpeg(quality))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|error| {
            tracing::warn!(%error, "screenshot failed");
            ApiError::internal()
        })?;
    Ok((
        [
            (CACHE_CONTROL, "no-cache, no-store, must-revalidate"),
            (CONTENT_TYPE, "image/jpeg"),
        ],
        jpeg,
    )
        .into_response())
}

/// `GET /api/room/screen/cast.jpg`: the sandbox has no screencast pipeline.
pub(super) async fn cast(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require_watch()?;
    if room.read(|state| state.private_for(&caller.profile)) {
        return Err(ApiError::bad_request(
            "private mode is enabled but no fallback image available",
        ));
    }
    Err(ApiError::bad_request("screencast pipeline is not enabled"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_parsing() {
        assert_eq!(quality(None), 90);
        assert_eq!(quality(Some("quality=abc")), 90);
        assert_eq!(quality(Some("token=x&quality=40")), 40);
        assert_eq!(quality(Some("quality=500")), 100);
        assert_eq!(quality(Some("quality=-3")), 1);
    }
}
