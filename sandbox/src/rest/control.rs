//! `/api/room/control/*` (§5.7).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gstneko::protocol::{ControlStatus, ServerEvent, SessionRef};

use super::error::ApiError;
use super::extract::Caller;
use crate::control;
use crate::state::RoomShared;

/// `GET /api/room/control`.
pub(super) async fn status(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<Json<ControlStatus>, ApiError> {
    caller.require_host_rights(&room)?;
    Ok(Json(room.read(|state| ControlStatus {
        has_host: state.host.is_some(),
        host_id: state.host.clone(),
    })))
}

/// `POST /api/room/control/request`: `202` after notifying any host (even yourself), else become host.
pub(super) async fn request(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.require_host_rights(&room)?;
    room.update(|state, effects| {
        if let Some(host) = state.host.clone() {
            state.send(
                &host,
                &ServerEvent::ControlRequest(SessionRef::new(&caller.id)),
            );
            return Err(ApiError::new(StatusCode::ACCEPTED, "control request sent"));
        }
        if state.settings.locked_controls && !caller.profile.is_admin {
            return Err(ApiError::forbidden("controls are locked"));
        }
        control::set_host(state, effects, Some(&caller.id), &caller.id);
        Ok(StatusCode::NO_CONTENT)
    })
}

/// `POST /api/room/control/release`.
pub(super) async fn release(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.require_host_rights(&room)?;
    room.update(|state, effects| {
        if !state.is_host(&caller.id) {
            return Err(ApiError::unprocessable("session is not the host"));
        }
        control::set_host(state, effects, None, &caller.id);
        Ok(StatusCode::NO_CONTENT)
    })
}

/// `POST /api/room/control/take` (admin).
pub(super) async fn take(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.require_host_rights(&room)?;
    caller.require_admin()?;
    room.update(|state, effects| control::set_host(state, effects, Some(&caller.id), &caller.id));
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/room/control/give/{id}` (host or admin).
pub(super) async fn give(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    Path(target): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_host_rights(&room)?;
    room.update(|state, effects| {
        if !state.is_host(&caller.id) && !caller.profile.is_admin {
            return Err(ApiError::forbidden("session is not host or admin"));
        }
        let can_host = state
            .sessions
            .get(&target)
            .map(|s| s.profile.can_host)
            .ok_or_else(|| ApiError::not_found("target session was not found"))?;
        if !can_host {
            return Err(ApiError::bad_request(
                "target session is not allowed to host",
            ));
        }
        control::set_host(state, effects, Some(&target), &caller.id);
        Ok(StatusCode::NO_CONTENT)
    })
}

/// `POST /api/room/control/reset` (admin).
pub(super) async fn reset(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.require_host_rights(&room)?;
    caller.require_admin()?;
    room.update(|state, effects| {
        if state.host.is_some() {
            control::set_host(state, effects, None, &caller.id);
        }
    });
    Ok(StatusCode::NO_CONTENT)
}
