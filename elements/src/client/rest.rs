//! Neko's REST API: login, whoami, logout.

use std::time::Duration;

use reqwest::StatusCode;

use super::target::{Credentials, Target};
use super::tls::TlsFailure;
use crate::protocol::{ErrorBody, LoginRequest, LoginResponse, MemberProfile, WhoAmI};

/// Failures of REST calls, worded so a user knows what to change.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// 401 on login: the username or password is wrong.
    #[error(
        "login to {server} as {username:?} was refused: wrong username or password (401 Unauthorized)"
    )]
    WrongCredentials {
        /// Server base URL.
        server: String,
        /// The username that was tried.
        username: String,
    },
    /// The token is unknown to the server or its session cannot log in.
    #[error("{server} refused the session token ({status} {message}); log in again")]
    Unauthorized {
        /// Server base URL.
        server: String,
        /// HTTP status.
        status: u16,
        /// Server's message.
        message: String,
    },
    /// The server answered with another error.
    #[error("{server} answered {status} to {what}: {message}")]
    Server {
        /// Server base URL.
        server: String,
        /// What was being done.
        what: String,
        /// HTTP status.
        status: u16,
        /// Server's message.
        message: String,
    },
    /// The server could not be reached (refused, DNS, TLS, timeout).
    #[error("cannot reach the Neko server at {server}: {reason}")]
    Unreachable {
        /// Server base URL.
        server: String,
        /// The transport error.
        reason: String,
    },
    /// The server's certificate was refused: retrying cannot help.
    #[error(transparent)]
    Tls(TlsFailure),
    /// The server answered something that is not Neko's JSON.
    #[error("{server} sent an unexpected answer to {what}: {reason}")]
    BadResponse {
        /// Server base URL.
        server: String,
        /// What was being done.
        what: String,
        /// Why it could not be used.
        reason: String,
    },
}

impl RestError {
    /// Whether waiting and trying again can help.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// A logged-in session: its id and the token to use on the WebSocket and REST calls.
#[derive(Clone)]
pub struct Login {
    /// Session id assigned by the server.
    pub session_id: String,
    /// Session token (from the JSON body, or from the `NEKO_SESSION` cookie when cookie auth is on).
    pub token: String,
    /// The session's member profile.
    pub profile: MemberProfile,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("session_id", &self.session_id)
            .field("token", &"***")
            .finish()
    }
}

/// REST client bound to one server.
#[derive(Debug, Clone)]
pub struct RestClient {
    http: reqwest::Client,
    target: Target,
}

const COOKIE_NAME: &str = "NEKO_SESSION";

impl RestClient {
    /// Creates a client for `target` with a 10 s timeout, trusting what the target trusts.
    pub fn new(target: Target) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .use_preconfigured_tls((*target.trust.client_config()).clone())
            .build()
            .unwrap_or_default();
        Self { http, target }
    }

    /// The target this client talks to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    fn unreachable(&self, err: reqwest::Error) -> RestError {
        if let Some(failure) = TlsFailure::find(self.target.host_port(), &err) {
            return RestError::Tls(failure);
        }
        let mut reason = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(inner) = source {
            reason = format!("{reason}: {inner}");
            source = inner.source();
        }
        RestError::Unreachable {
            server: self.target.display_server(),
            reason,
        }
    }

    /// `POST /api/login`, or a `whoami` check when the target carries a token.
    pub async fn login(&self) -> Result<Login, RestError> {
        let (username, password) = match &self.target.credentials {
            Credentials::Password { username, password } => (username, password),
            Credentials::Token(token) => {
                let who = self.whoami(token).await?;
                return Ok(Login {
                    session_id: who.id,
                    token: token.clone(),
                    profile: who.profile,
                });
            }
        };
        let server = self.target.display_server();
        let response = self
            .http
            .post(self.target.rest_url("api/login"))
            .json(&LoginRequest {
                username: username.clone(),
                password: password.clone(),
            })
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let cookie_token = response
            .cookies()
            .find(|c| c.name() == COOKIE_NAME && !c.value().is_empty())
            .map(|c| c.value().to_owned());
        let body = response.text().await.map_err(|e| self.unreachable(e))?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(RestError::WrongCredentials {
                server,
                username: username.clone(),
            });
        }
        if !status.is_success() {
            return Err(self.server_error("login", status, &body));
        }
        let parsed: LoginResponse =
            serde_json::from_str(&body).map_err(|e| RestError::BadResponse {
                server: server.clone(),
                what: "login".into(),
                reason: e.to_string(),
            })?;
        let token =
            parsed
                .token
                .clone()
                .or(cookie_token)
                .ok_or_else(|| RestError::BadResponse {
                    server,
                    what: "login".into(),
                    reason: "no token in the body and no NEKO_SESSION cookie".into(),
                })?;
        Ok(Login {
            session_id: parsed.id,
            token,
            profile: parsed.profile,
        })
    }

    /// `GET /api/whoami` with a token.
    pub async fn whoami(&self, token: &str) -> Result<WhoAmI, RestError> {
        let response = self
            .http
            .get(self.target.rest_url("api/whoami"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(self.server_error("whoami", status, &body));
        }
        serde_json::from_str(&body).map_err(|e| RestError::BadResponse {
            server: self.target.display_server(),
            what: "whoami".into(),
            reason: e.to_string(),
        })
    }

    /// `POST /api/logout`: deletes the session on the server.
    pub async fn logout(&self, token: &str) -> Result<(), RestError> {
        let response = self
            .http
            .post(self.target.rest_url("api/logout"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(self.server_error("logout", status, &body))
    }

    /// `GET` any authenticated endpoint and return its JSON body.
    pub async fn get_json(&self, path: &str, token: &str) -> Result<serde_json::Value, RestError> {
        let request = self.http.get(self.target.rest_url(path)).bearer_auth(token);
        let body = self.call(path, request).await?;
        serde_json::from_str(&body).map_err(|e| RestError::BadResponse {
            server: self.target.display_server(),
            what: path.to_owned(),
            reason: e.to_string(),
        })
    }

    /// `GET` an authenticated endpoint that answers with an image (e.g.
    /// `api/room/screen/shot.jpg` with `quality`); returns its bytes, refusing other content.
    pub async fn get_image(
        &self,
        path: &str,
        query: &[(&str, &str)],
        token: &str,
    ) -> Result<Vec<u8>, RestError> {
        let response = self
            .http
            .get(self.target.rest_url(path))
            .query(query)
            .header(reqwest::header::ACCEPT, "image/*")
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(self.server_error(path, status, &String::from_utf8_lossy(&body)));
        }
        if !content_type.starts_with("image/") {
            return Err(RestError::BadResponse {
                server: self.target.display_server(),
                what: path.to_owned(),
                reason: format!("expected an image, got {content_type:?}"),
            });
        }
        Ok(body.to_vec())
    }

    /// `POST` to any authenticated endpoint (an empty JSON object as body unless one is
    /// given); returns the response body, empty for `204 No Content`.
    pub async fn post_json(
        &self,
        path: &str,
        token: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<String, RestError> {
        let empty = serde_json::json!({});
        let request = self
            .http
            .post(self.target.rest_url(path))
            .bearer_auth(token)
            .json(body.unwrap_or(&empty));
        self.call(path, request).await
    }

    async fn call(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<String, RestError> {
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| self.unreachable(e))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(self.server_error(path, status, &body))
        }
    }

    fn server_error(&self, what: &str, status: StatusCode, body: &str) -> RestError {
        let message = serde_json::from_str::<ErrorBody>(body)
            .map(|e| e.message)
            .unwrap_or_else(|_| body.chars().take(200).collect());
        let server = self.target.display_server();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return RestError::Unauthorized {
                server,
                status: status.as_u16(),
                message,
            };
        }
        RestError::Server {
            server,
            what: what.to_owned(),
            status: status.as_u16(),
            message,
        }
    }
}
