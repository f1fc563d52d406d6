//! `/api/login`, `/api/logout`, `/api/whoami`, `/api/profile` (§1.1).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use gstneko::protocol::{LoginRequest, LoginResponse, MemberProfile, WhoAmI};

use super::error::ApiError;
use super::extract::{Caller, json_body};
use crate::auth;
use crate::lifecycle::LoginError;
use crate::limits;
use crate::patch;
use crate::state::RoomShared;

/// Appends `Set-Cookie: value` to a response.
fn with_cookie(mut response: Response, value: Option<String>) -> Response {
    if let Some(value) = value.and_then(|v| v.parse().ok()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// `POST /api/login`.
pub(super) async fn login(
    State(room): State<Arc<RoomShared>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: LoginRequest = json_body(&body)?;
    limits::check_name("username", &request.username)
        .map_err(|error| ApiError::bad_request(error.to_string()))?;
    let (session, token) = room
        .login(&request.username, &request.password)
        .map_err(|error| match error {
            LoginError::InvalidPassword => ApiError::unauthorized(),
            LoginError::LoginsLocked => ApiError::forbidden("logins are locked"),
        })?;
    let cookie = &room.config.cookie;
    let response = LoginResponse {
        id: session.id,
        token: (!cookie.enabled).then(|| token.clone()),
        profile: session.profile,
        state: session.state,
    };
    let set_cookie = cookie.enabled.then(|| auth::set_cookie(cookie, &token));
    Ok(with_cookie(Json(response).into_response(), set_cookie))
}

/// `POST /api/logout`: deletes the caller's session.
pub(super) async fn logout(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    room.delete_session(&caller.id, "session deleted")
        .map_err(|_| ApiError::bad_request("session is not logged in"))?;
    let cookie = &room.config.cookie;
    let clear = cookie
        .enabled
        .then(|| auth::clear_cookie(&headers, cookie))
        .flatten();
    Ok(with_cookie(Json(true).into_response(), clear))
}

/// `GET /api/whoami`.
pub(super) async fn whoami(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
) -> Result<Json<WhoAmI>, ApiError> {
    let data = room
        .read(|state| state.sessions.get(&caller.id).map(|s| s.data()))
        .ok_or_else(ApiError::unauthorized)?;
    Ok(Json(WhoAmI {
        id: data.id,
        profile: data.profile,
        state: data.state,
    }))
}

/// `POST /api/profile`: non-admins may change only `name`; admins patch the whole profile.
pub(super) async fn profile(
    State(room): State<Arc<RoomShared>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<bool>, ApiError> {
    let mut profile = caller.profile.clone();
    if caller.profile.is_admin {
        let patch: serde_json::Value = json_body(&body)?;
        profile = patch::apply(&profile, &patch)
            .map_err(|_| ApiError::bad_request("unable to parse provided data"))?;
    } else {
        let requested: MemberProfile = json_body(&body)?;
        profile.name = requested.name;
    }
    limits::check_profile(&profile).map_err(|error| ApiError::bad_request(error.to_string()))?;
    room.set_profile(&caller.id, profile)
        .map_err(|_| ApiError::bad_request("session does not exist"))?;
    Ok(Json(true))
}
