//! REST request and response bodies (§1, §5.7).

use serde::{Deserialize, Serialize};

use super::{MemberProfile, SessionState};

/// Body of `POST /api/login`.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginRequest {
    /// Member name.
    pub username: String,
    /// Password; the role depends on it in the multiuser provider.
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `200` body of `POST /api/login`.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LoginResponse {
    /// New session id.
    #[serde(default)]
    pub id: String,
    /// Session token; absent when cookie auth is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Member profile.
    #[serde(default)]
    pub profile: MemberProfile,
    /// Session state.
    #[serde(default)]
    pub state: SessionState,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("id", &self.id)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("profile", &self.profile)
            .field("state", &self.state)
            .finish()
    }
}

/// `200` body of `GET /api/whoami`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WhoAmI {
    /// Session id.
    pub id: String,
    /// Member profile.
    pub profile: MemberProfile,
    /// Session state.
    pub state: SessionState,
}

/// Error body of every REST handler.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    /// HTTP status code.
    pub code: u16,
    /// Human-readable reason.
    pub message: String,
}

impl ErrorBody {
    /// An error body with the given status and message.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// `200` body of `GET /api/room/control`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ControlStatus {
    /// Somebody is host.
    pub has_host: bool,
    /// The host, omitted when nobody is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn login_fixtures_round_trip() {
        let request: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/protocol/login_request.json"
        ))
        .expect("fixture");
        let parsed: LoginRequest = serde_json::from_value(request.clone()).expect("parse");
        assert_eq!(parsed.username, "alice");
        assert_eq!(serde_json::to_value(&parsed).expect("serialise"), request);

        let response: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/protocol/login_response.json"
        ))
        .expect("fixture");
        let parsed: LoginResponse = serde_json::from_value(response.clone()).expect("parse");
        assert_eq!(parsed.id, "alice-Xa9_k");
        assert_eq!(parsed.token.as_deref().map(str::len), Some(64));
        assert_eq!(parsed.profile, MemberProfile::user().with_name("alice"));
        assert_eq!(serde_json::to_value(&parsed).expect("serialise"), response);
    }

    #[test]
    fn cookie_login_has_no_token() {
        let body = LoginResponse {
            id: "a-12345".into(),
            ..LoginResponse::default()
        };
        let value = serde_json::to_value(&body).expect("serialise");
        assert!(value.get("token").is_none());
    }

    #[test]
    fn secrets_are_not_in_debug() {
        let request = LoginRequest {
            username: "alice".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{request:?}").contains("hunter2"));
        let response = LoginResponse {
            token: Some("secret-token".into()),
            ..LoginResponse::default()
        };
        assert!(!format!("{response:?}").contains("secret-token"));
    }

    #[test]
    fn error_and_control_bodies() {
        let fixture: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/protocol/error_body.json"
        ))
        .expect("fixture");
        let parsed: ErrorBody = serde_json::from_value(fixture.clone()).expect("parse");
        assert_eq!(parsed, ErrorBody::new(202, "control request sent"));
        assert_eq!(serde_json::to_value(&parsed).expect("serialise"), fixture);

        let none = ControlStatus::default();
        assert_eq!(
            serde_json::to_value(&none).expect("serialise"),
            json!({"has_host": false})
        );
        let some = ControlStatus {
            has_host: true,
            host_id: Some("bob-3kQ2z".into()),
        };
        assert_eq!(
            serde_json::to_value(&some).expect("serialise"),
            json!({"has_host": true, "host_id": "bob-3kQ2z"})
        );
    }
}
