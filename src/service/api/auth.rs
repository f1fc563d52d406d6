//! Bearer-token access to the API. With a token configured every route but the probes, the
//! metrics and the OpenAPI document needs `Authorization: Bearer <token>`; without one the
//! service only listens on loopback (checked when it starts).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ErrorBody;
use crate::secret::same;

/// Shortest token accepted (a guessable token is worse than none: it looks safe).
pub const MIN_TOKEN_CHARS: usize = 16;

/// Largest token file read.
const MAX_TOKEN_FILE: u64 = 4096;

/// The API's access rule.
#[derive(Clone)]
pub enum Access {
    /// Anyone who can connect (loopback only).
    Open,
    /// Requests must carry this bearer token.
    Token(Arc<str>),
}

/// Why the access settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The token file could not be read.
    #[error("--token-file/NEKO_API_TOKEN_FILE {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The token file is larger than a token.
    #[error(
        "--token-file/NEKO_API_TOKEN_FILE {0}: larger than {MAX_TOKEN_FILE} bytes; it should hold only the token"
    )]
    FileTooLarge(PathBuf),
    /// The token is too short.
    #[error(
        "the API token must be at least {MIN_TOKEN_CHARS} characters (NEKO_API_TOKEN or --token-file)"
    )]
    TooShort,
    /// No token, and the address is reachable from other machines.
    #[error(
        "refusing to serve the API on {0} without a token: set NEKO_API_TOKEN (or --token-file), or bind to a loopback address such as 127.0.0.1:8080"
    )]
    OpenToNetwork(SocketAddr),
}

impl Access {
    /// The rule from a token (`NEKO_API_TOKEN`) or a token file (wins), checked against the
    /// address the API listens on.
    pub fn configure(
        token: Option<&str>,
        token_file: Option<&Path>,
        bind: SocketAddr,
    ) -> Result<Self, AccessError> {
        let token = match token_file {
            Some(path) => Some(read_token(path)?),
            None => token.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
        };
        match token {
            Some(token) if token.chars().count() < MIN_TOKEN_CHARS => Err(AccessError::TooShort),
            Some(token) => Ok(Self::Token(token.into())),
            None if bind.ip().is_loopback() => Ok(Self::Open),
            None => Err(AccessError::OpenToNetwork(bind)),
        }
    }

    /// The secret viewer tokens are derived from: the API token, or random bytes of this
    /// process without one (then only this process can check them).
    pub fn viewer_secret(&self) -> Vec<u8> {
        match self {
            Self::Token(token) => token.as_bytes().to_vec(),
            Self::Open => {
                use rand::Rng;
                let mut secret = vec![0u8; 32];
                rand::rng().fill(&mut secret[..]);
                secret
            }
        }
    }

    /// Whether a request's `Authorization` header value is accepted.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        match self {
            Self::Open => true,
            Self::Token(token) => authorization
                .and_then(|value| value.strip_prefix("Bearer "))
                .is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes())),
        }
    }
}

fn read_token(path: &Path) -> Result<String, AccessError> {
    let io = |source| AccessError::File {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_TOKEN_FILE {
        return Err(AccessError::FileTooLarge(path.to_owned()));
    }
    Ok(std::fs::read_to_string(path).map_err(io)?.trim().to_owned())
}

/// Middleware: `401` with a JSON body unless the request may pass.
pub async fn require(State(access): State<Access>, request: Request, next: Next) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if access.allows(authorization) {
        return next.run(request).await;
    }
    let body = ErrorBody {
        error: "missing or wrong bearer token: send Authorization: Bearer <token>".into(),
        problems: Vec::new(),
    };
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_token_means_loopback_only() {
        let open = Access::configure(None, None, "127.0.0.1:8080".parse().unwrap()).unwrap();
        assert!(open.allows(None));
        let error = Access::configure(None, None, "0.0.0.0:8080".parse().unwrap())
            .err()
            .unwrap();
        assert!(error.to_string().contains("without a token"), "{error}");
    }

    #[test]
    fn tokens_are_checked_whole() {
        let access =
            Access::configure(Some("0123456789abcdef"), None, "0.0.0.0:1".parse().unwrap())
                .unwrap();
        assert!(access.allows(Some("Bearer 0123456789abcdef")));
        assert!(!access.allows(Some("Bearer 0123456789abcde")));
        assert!(!access.allows(Some("0123456789abcdef")));
        assert!(!access.allows(None));
        assert!(matches!(
            Access::configure(Some("short"), None, "127.0.0.1:1".parse().unwrap()),
            Err(AccessError::TooShort)
        ));
    }
}
