//! The authenticated caller of a REST route, permission checks, and Neko's JSON body rules.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use gstneko::protocol::MemberProfile;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::auth::{self, AuthError};
use crate::state::RoomShared;

/// The session that made the request.
pub(crate) struct Caller {
    /// Session id.
    pub id: String,
    /// Its profile at the time of the request.
    pub profile: MemberProfile,
}

impl FromRequestParts<Arc<RoomShared>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        room: &Arc<RoomShared>,
    ) -> Result<Self, ApiError> {
        let cookie = &room.config.cookie;
        let token = auth::request_token(&parts.headers, parts.uri.query(), cookie);
        let session = token
            .ok_or(AuthError::NoToken)
            .and_then(|token| room.authenticate(&token));
        match session {
            Ok(session) => Ok(Self {
                id: session.id,
                profile: session.profile,
            }),
            Err(error) => {
                let clear = cookie
                    .enabled
                    .then(|| auth::clear_cookie(&parts.headers, cookie))
                    .flatten();
                let rejection = match error {
                    AuthError::LoginDisabled => {
                        ApiError::forbidden("login is disabled for this session")
                    }
                    _ => ApiError::unauthorized(),
                };
                Err(rejection.with_cookie(clear))
            }
        }
    }
}

impl Caller {
    /// `403 "session is not admin"` unless admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.profile.is_admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("session is not admin"))
        }
    }

    /// `403 "session cannot watch"` unless `can_watch`.
    pub fn require_watch(&self) -> Result<(), ApiError> {
        if self.profile.can_watch {
            Ok(())
        } else {
            Err(ApiError::forbidden("session cannot watch"))
        }
    }

    /// `403 "session cannot access clipboard"` unless `can_access_clipboard`.
    pub fn require_clipboard_access(&self) -> Result<(), ApiError> {
        if self.profile.can_access_clipboard {
            Ok(())
        } else {
            Err(ApiError::forbidden("session cannot access clipboard"))
        }
    }

    /// `403 "session is not host"` unless the caller hosts now.
    pub fn require_host(&self, room: &RoomShared) -> Result<(), ApiError> {
        if room.read(|state| state.is_host(&self.id)) {
            Ok(())
        } else {
            Err(ApiError::forbidden("session is not host"))
        }
    }

    /// `403 "session cannot host"` unless `can_host`; `422 "private mode is enabled"` in private mode.
    pub fn require_host_rights(&self, room: &RoomShared) -> Result<(), ApiError> {
        if !self.profile.can_host {
            return Err(ApiError::forbidden("session cannot host"));
        }
        if room.read(|state| state.private_for(&self.profile)) {
            return Err(ApiError::unprocessable("private mode is enabled"));
        }
        Ok(())
    }
}

/// Neko's request-body rules: empty → `400 "no data provided"`, bad JSON → `400 "unable to parse provided data"`.
pub(crate) fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("no data provided"));
    }
    serde_json::from_slice(body).map_err(|error| {
        tracing::debug!(%error, "unparseable request body");
        ApiError::bad_request("unable to parse provided data")
    })
}
