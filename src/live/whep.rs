//! The live view's WHEP endpoint (RFC 9725): a viewer `POST`s its SDP offer to
//! `/whep?token=…` and gets `201 Created` with the complete answer (ICE candidates included, no
//! trickle) and a `Location` to `DELETE` when it leaves. Any WHEP player (a browser page,
//! GStreamer's `whepsrc`, OBS) can play it.
//!
//! The token is the viewer token: without it (query `token` or `Authorization: Bearer`), no
//! stream.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};

use super::branch::{LiveBranch, ViewerError};

/// Largest offer accepted.
const MAX_OFFER_BYTES: usize = 64 * 1024;

/// Characters of a viewer token.
const TOKEN_CHARS: usize = 32;

/// A random token of hex characters.
pub fn new_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..TOKEN_CHARS)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("a hex digit"))
        .collect()
}

/// What the routes share.
#[derive(Clone)]
struct Whep {
    branch: Arc<LiveBranch>,
    token: Arc<str>,
}

/// The `?token=` query.
#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl Whep {
    /// Whether the request carries the viewer token.
    fn admits(&self, query: &TokenQuery, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        [query.token.as_deref(), bearer]
            .into_iter()
            .flatten()
            .any(|given| same(given.as_bytes(), self.token.as_bytes()))
    }
}

/// Constant-time equality of two byte strings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

/// The WHEP routes (`POST /whep`, `DELETE /whep/{viewer}`) for `branch`, admitting `token`.
pub fn router(branch: Arc<LiveBranch>, token: &str) -> Router {
    Router::new()
        .route("/whep", post(offer))
        .route("/whep/{viewer}", delete(leave))
        .layer(DefaultBodyLimit::max(MAX_OFFER_BYTES))
        .with_state(Whep {
            branch,
            token: token.into(),
        })
}

async fn offer(
    State(whep): State<Whep>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !whep.admits(&query, &headers) {
        return refused(
            StatusCode::UNAUTHORIZED,
            "a viewer token is needed (?token=…)",
        );
    }
    let sdp = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/sdp"));
    if !sdp {
        return refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the offer must be sent as application/sdp",
        );
    }
    let Ok(offer) = String::from_utf8(body.to_vec()) else {
        return refused(StatusCode::BAD_REQUEST, "the offer is not UTF-8 text");
    };
    let viewer = new_token()[..16].to_owned();
    let branch = whep.branch.clone();
    let id = viewer.clone();
    let answered = tokio::task::spawn_blocking(move || branch.add_viewer(&id, &offer)).await;
    match answered {
        Ok(Ok(answer)) => (
            StatusCode::CREATED,
            [
                (header::CONTENT_TYPE, "application/sdp".to_owned()),
                (header::LOCATION, format!("/whep/{viewer}")),
            ],
            answer,
        )
            .into_response(),
        Ok(Err(error @ ViewerError::Offer(_))) => {
            refused(StatusCode::BAD_REQUEST, error.to_string())
        }
        Ok(Err(error @ ViewerError::Full(_))) => {
            refused(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }
        Ok(Err(error)) => refused(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
        Err(error) => refused(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

async fn leave(
    State(whep): State<Whep>,
    Path(viewer): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if !whep.admits(&query, &headers) {
        return refused(
            StatusCode::UNAUTHORIZED,
            "a viewer token is needed (?token=…)",
        );
    }
    let branch = whep.branch.clone();
    match tokio::task::spawn_blocking(move || branch.remove_viewer(&viewer)).await {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => refused(StatusCode::NOT_FOUND, "no such viewer"),
        Err(error) => refused(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

/// A live view served on its own address (`run --live ADDR`).
pub struct LiveServer {
    address: SocketAddr,
    token: String,
    task: tokio::task::JoinHandle<()>,
}

impl LiveServer {
    /// Serves `branch`'s WHEP endpoint on `bind` with a new viewer token (on the current tokio
    /// runtime).
    pub fn start(branch: Arc<LiveBranch>, bind: SocketAddr) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let address = listener.local_addr()?;
        let token = new_token();
        let app = router(branch, &token);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::warn!(%error, "the live view's server stopped");
            }
        });
        Ok(Self {
            address,
            token,
            task,
        })
    }

    /// The WHEP URL with its viewer token.
    pub fn url(&self) -> String {
        format!("http://{}/whep?token={}", self.address, self.token)
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_hex() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), TOKEN_CHARS);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(same(a.as_bytes(), a.as_bytes()));
        assert!(!same(a.as_bytes(), b.as_bytes()));
    }
}
